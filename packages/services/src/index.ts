export {
  CHARGEN_LINE,
  CHARGEN_PORT,
  chargenPattern,
  DISCARD_PORT,
  ECHO_PORT,
  type ServiceSockets,
  SmallServices,
  type SmallServicesConfig,
} from './services.ts';
