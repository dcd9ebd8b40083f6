// Text patterns shared by the schema files (JSON Schema `pattern`s, so plain strings).

/** Linux interface names: at most 15 characters (IFNAMSIZ 16 with the NUL). */
export const INTERFACE_NAME = '^[A-Za-z][A-Za-z0-9_.-]{0,14}$';
export const IPV4 = '(?:\\d{1,3}\\.){3}\\d{1,3}';
/** Loose on purpose: semantic.ts parses it (RFC 4291 §2.2) and says what is wrong. */
export const IPV6 = '[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*';
