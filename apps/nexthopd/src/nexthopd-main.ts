import { DEFAULT_RUN_DIR, versionLine } from '@nexthop/control';
import { Command } from 'commander';
import { type Daemon, DaemonStartError, startDaemon } from './daemon.ts';

// nexthopd: runs the VRs of a configuration file and serves the management API until SIGTERM/SIGINT.

const program = new Command()
  .name('nexthopd')
  .description('The router manager: runs one VR process per configured router and serves the management API')
  .version(versionLine('nexthopd'), '-V, --version', 'the version of nexthop and of the Node.js it runs on')
  .option(
    '--config <file>',
    'configuration file (source of truth; applies are written back to it)',
    '/etc/nexthop/nexthop.yaml',
  )
  .option(
    '--run-dir <dir>',
    'directory of the sockets and the VR config files ($NEXTHOP_RUN_DIR, else /run/nexthop)',
    DEFAULT_RUN_DIR,
  )
  .option('--state-dir <dir>', 'directory of the applied configuration history', '/var/lib/nexthop')
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (opts: { config: string; runDir: string; stateDir: string; logLevel: string }) => {
    // Signals are taken from the first moment: a SIGTERM while VRs start must still stop them.
    let daemon: Daemon | null = null;
    let stopSignal: string | null = null;
    const stop = (signal: string) => {
      if (stopSignal !== null) return;
      stopSignal = signal;
      if (daemon === null) return; // Stopped as soon as it exists.
      const d = daemon;
      d.logger.info({ signal }, 'stopping');
      d.close().then(
        () => process.exit(0),
        (err: unknown) => {
          d.logger.error({ err: (err as Error).message }, 'stopping failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // SIGUSR2: leave without stopping the VRs (an upgrade or restart of nexthopd itself); the next
    // nexthopd adopts them.
    process.on('SIGUSR2', () => {
      if (daemon === null || stopSignal !== null) return;
      stopSignal = 'SIGUSR2';
      const d = daemon;
      d.logger.info('SIGUSR2: leaving the VRs running');
      d.detach().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    process.on('SIGHUP', () => {
      if (daemon === null) return;
      daemon.logger.info('SIGHUP: re-reading the configuration file');
      void daemon.reload();
    });
    try {
      daemon = await startDaemon({
        configPath: opts.config,
        runDir: opts.runDir,
        stateDir: opts.stateDir,
        logLevel: opts.logLevel,
      });
    } catch (err) {
      process.stderr.write(
        `nexthopd: ${err instanceof DaemonStartError ? err.message : (err as Error).message}\n`,
      );
      process.exit(1);
    }
    if (stopSignal !== null) {
      const signal = stopSignal;
      stopSignal = null;
      stop(signal);
    }
  });

await program.parseAsync();
