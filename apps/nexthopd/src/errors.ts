import type { ConfigError } from '@nexthop/config';
import { ControlError } from '@nexthop/control';

/** A failure with the HTTP status and error code the API answers with. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors: readonly ConfigError[] | undefined;
  constructor(status: number, code: string, message: string, errors?: readonly ConfigError[]) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

/** How a VR's control error shows through the API. */
export function fromControlError(vr: string, err: unknown): ApiFailure {
  if (err instanceof ApiFailure) return err;
  if (err instanceof ControlError) {
    switch (err.code) {
      case 'timeout':
        return new ApiFailure(504, 'vr_timeout', `VR ${vr}: ${err.message}`);
      case 'closed':
      case 'io':
      case 'ENOENT':
      case 'ECONNREFUSED':
        return new ApiFailure(503, 'vr_unavailable', `VR ${vr}: ${err.message}`);
      case 'not_found':
        return new ApiFailure(404, 'not_found', `VR ${vr}: ${err.message}`);
      case 'invalid_config':
        return new ApiFailure(422, 'invalid_config', `VR ${vr}: ${err.message}`);
      case 'bad_request':
        return new ApiFailure(400, 'bad_request', `VR ${vr}: ${err.message}`);
      // A valid config this host cannot take now (a device that vanished, an MTU above the device's).
      case 'apply_failed':
      case 'wrong_router':
        return new ApiFailure(409, err.code, `VR ${vr}: ${err.message}`);
      case 'too_many_captures':
        return new ApiFailure(429, err.code, `VR ${vr}: ${err.message}`);
      default:
        return new ApiFailure(502, err.code, `VR ${vr}: ${err.message}`);
    }
  }
  return new ApiFailure(500, 'internal', err instanceof Error ? err.message : String(err));
}
