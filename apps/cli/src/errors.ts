import { ControlError } from '@nexthop/control';
import { ApiRequestError, ApiUnreachableError } from './api-client.ts';

/** What the user can act on: printed as `nexthop: <message>`, then exit with `exitCode`. */
export class CliError extends Error {
  /** 1 for an operational failure (unreachable, rejected, unknown VR), 2 for a usage error. */
  readonly exitCode: number;
  /** Printed without the `nexthop: ` prefix: lines that carry their own place (`file:line: …`). */
  readonly bare: boolean;
  constructor(message: string, exitCode = 1, bare = false) {
    super(message);
    this.exitCode = exitCode;
    this.bare = bare;
  }
}

/**
 * One line for a failed call on a VR (through nexthopd or its control socket). Anything not from
 * the API or the control socket is a bug and is passed on as is.
 */
export function vrFailure(vr: string, err: unknown): Error {
  if (err instanceof ApiRequestError || err instanceof ControlError) {
    // nexthopd's messages about a VR already start with its name.
    const named = err.message.startsWith(`VR ${vr}`) || err.message.startsWith(`VR '${vr}'`);
    return new CliError(named ? err.message : `VR '${vr}': ${err.message}`);
  }
  if (err instanceof ApiUnreachableError) return new CliError(err.message);
  return err instanceof Error ? err : new Error(String(err));
}

/** One line for a failed management call that concerns no VR in particular. */
export function apiFailure(err: unknown): Error {
  if (err instanceof ApiRequestError) return new CliError(`nexthopd: ${err.message}`);
  if (err instanceof ApiUnreachableError) return new CliError(err.message);
  return err instanceof Error ? err : new Error(String(err));
}
