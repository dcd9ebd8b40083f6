export { configJsonSchema, formatConfigErrors, parseConfig } from './parse.ts';
export { describeRoute, routeKey } from './routes.ts';
export type { RawRouter } from './schema.ts';
export { DEFAULT_QUOTAS, isLoopbackHost } from './semantic.ts';
export type {
  AccessConfig,
  ApiFileProblem,
  ConfigError,
  DriverKind,
  InterfaceAddress,
  InterfaceAddress6,
  InterfaceConfig,
  ManagerConfig,
  NexthopConfig,
  ParseOptions,
  ParseResult,
  QuotasConfig,
  RaPrefixConfig,
  RaSettings,
  Route6Config,
  RouteConfig,
  RouteKind,
  RouterConfig,
  ServicesConfig,
} from './types.ts';
