import { Command } from 'commander';
import { DaemonStartError, startDaemon } from './daemon.ts';

// nexthopd: runs the VRs of a configuration file and serves the management API until SIGTERM/SIGINT.

const program = new Command()
  .name('nexthopd')
  .description('The router manager: runs one VR process per configured router and serves the management API')
  .option(
    '--config <file>',
    'configuration file (source of truth; applies are written back to it)',
    '/etc/nexthop/nexthop.yaml',
  )
  .option('--run-dir <dir>', 'directory of the sockets and the VR config files', '/run/nexthop')
  .option('--state-dir <dir>', 'directory of the applied configuration history', '/var/lib/nexthop')
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (opts: { config: string; runDir: string; stateDir: string; logLevel: string }) => {
    let daemon: Awaited<ReturnType<typeof startDaemon>>;
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
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      daemon.logger.info({ signal }, 'stopping');
      daemon.close().then(
        () => process.exit(0),
        (err: unknown) => {
          daemon.logger.error({ err: (err as Error).message }, 'stopping failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      daemon.logger.info('SIGHUP: re-reading the configuration file');
      void daemon.reload();
    });
  });

await program.parseAsync();
