import type { ConfigError } from '@nexthop/config';

// The management API's JSON shapes (docs/management-api.md, /openapi.json). The CLI reads these
// types too, so a change here is a change of the published API.

/** Where nexthopd's management API listens inside its run directory. */
export const API_SOCKET_NAME = 'nexthopd.sock';

export type VrState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export interface VrExit {
  /** Exit code, or null when a signal ended the process. */
  readonly code: number | null;
  readonly signal: string | null;
  /** Epoch milliseconds. */
  readonly at: number;
}

export interface VrStatus {
  readonly name: string;
  readonly state: VrState;
  /** The current VR process, null when none runs. */
  readonly pid: number | null;
  /** Since the current process became ready; null when not running. */
  readonly uptimeMs: number | null;
  /** Processes started after the first one (crashes, hangs, operator restarts). */
  readonly restarts: number;
  readonly lastExit: VrExit | null;
  /** Interfaces in its configuration. */
  readonly interfaces: number;
  /** Why it is failed or restarting, in one line; null otherwise. */
  readonly reason: string | null;
}

/** One difference between the running configuration and a proposed one. */
export interface ConfigChange {
  readonly vr: string;
  readonly action: 'add' | 'remove' | 'change';
  /** What changed: the VR itself, or one of its parts. */
  readonly kind: 'vr' | 'interface' | 'address' | 'route' | 'services' | 'access' | 'quotas' | 'manager';
  /** Human text like `route 10.99.0.0/16 via 10.2.0.2` or `interface eth1 mtu 1500 -> 1400`. */
  readonly detail: string;
}

export interface ConfigText {
  /** YAML text of a configuration file. */
  readonly text: string;
}

export interface ConfigCurrent {
  readonly text: string;
  /** Version number of the running configuration (increments on each apply or rollback). */
  readonly version: number;
  /** Epoch milliseconds. */
  readonly appliedAt: number;
  /** Older versions kept for rollback. */
  readonly history: number;
}

/** POST /config/validate: 200 with ok true, 422 with ok false. */
export interface ValidateResult {
  readonly ok: boolean;
  readonly errors: readonly ConfigError[];
}

export interface DiffResult {
  readonly changes: readonly ConfigChange[];
}

export interface ApplyResult {
  readonly version: number;
  readonly changes: readonly ConfigChange[];
}

/** HTTP trailer of a capture stream: frames the VR dropped because its capture buffer was full. */
export const CAPTURE_DROPPED_TRAILER = 'x-nexthop-dropped';

export interface CaptureRequest {
  readonly interface: string;
  /** Stop after this many frames (default 100, at most 1,000,000). */
  readonly count?: number;
  /** Bytes kept of each frame (default 262,144). */
  readonly snaplen?: number;
  /** Stop after this long even if fewer frames came (default 60,000 ms). */
  readonly timeoutMs?: number;
}

/** Every error answer: HTTP status 4xx/5xx with this body. */
export interface ApiError {
  readonly error: {
    /** Machine-readable: not_found, invalid_config, vr_unavailable, unauthorized, bad_request, ... */
    readonly code: string;
    readonly message: string;
    /** For invalid_config. */
    readonly errors?: readonly ConfigError[];
  };
}
