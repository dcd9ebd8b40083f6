export { configJsonSchema, formatConfigErrors, parseConfig } from './parse.ts';
export { describeRoute, routeKey } from './routes.ts';
export type { RawRouter } from './schema.ts';
export { DEFAULT_QUOTAS } from './semantic.ts';
export type {
  AccessConfig,
  ConfigError,
  DriverKind,
  InterfaceAddress,
  InterfaceConfig,
  ManagerConfig,
  NexthopConfig,
  ParseOptions,
  ParseResult,
  QuotasConfig,
  RouteConfig,
  RouteKind,
  RouterConfig,
  ServicesConfig,
} from './types.ts';
