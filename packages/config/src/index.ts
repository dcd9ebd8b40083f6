export { configJsonSchema, formatConfigErrors, parseConfig } from './parse.ts';
export type {
  ConfigError,
  DriverKind,
  InterfaceAddress,
  InterfaceConfig,
  NexthopConfig,
  ParseResult,
  RouteConfig,
  RouteKind,
  RouterConfig,
  ServicesConfig,
} from './types.ts';
