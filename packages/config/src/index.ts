export { configJsonSchema, formatConfigErrors, parseConfig } from './parse.ts';
export { DEFAULT_QUOTAS } from './semantic.ts';
export type {
  AccessConfig,
  ConfigError,
  DriverKind,
  InterfaceAddress,
  InterfaceConfig,
  NexthopConfig,
  ParseResult,
  QuotasConfig,
  RouteConfig,
  RouteKind,
  RouterConfig,
  ServicesConfig,
} from './types.ts';
