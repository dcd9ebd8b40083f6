import { ControlError, controlSocketPath, DEFAULT_RUN_DIR, request } from '@nexthop/control';
import { Command, CommanderError } from 'commander';
import { formatArp, formatCounters, formatInterfaces, formatRoutes, formatSockets } from './format.ts';

const SHOWABLE = ['interfaces', 'routes', 'arp', 'counters', 'sockets'] as const;
type Showable = (typeof SHOWABLE)[number];

const FORMATTERS: Record<Showable, (data: never) => string> = {
  interfaces: formatInterfaces,
  routes: formatRoutes,
  arp: formatArp,
  counters: formatCounters,
  sockets: formatSockets,
};

/** A failure the user can act on: printed as one line, exit code 1. */
class UserError extends Error {}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const program = new Command('nexthop')
  .description('nexthop: a virtual router outside the Linux kernel')
  .showHelpAfterError()
  .exitOverride();

program
  .command('vr')
  .description('run one virtual router in the foreground')
  .requiredOption('--config <file>', 'YAML configuration file')
  .option('--name <name>', 'router to run (needed when the file has several)')
  .option('--run-dir <dir>', 'directory for the control socket', DEFAULT_RUN_DIR)
  .action(async (opts: { config: string; name?: string; runDir: string }) => {
    try {
      // Loaded on demand: `show` should not pay for the drivers and the stack.
      const { runVrProcess } = await import('@nexthop/vr');
      await runVrProcess({ configPath: opts.config, name: opts.name, runDir: opts.runDir });
    } catch (err) {
      throw new UserError(err instanceof Error ? err.message : String(err));
    }
  });

program
  .command('show')
  .description(`show a VR's ${SHOWABLE.join(', ')}`)
  .argument('<what>', SHOWABLE.join(' | '))
  .requiredOption('--vr <name>', 'the VR to ask')
  .option('--run-dir <dir>', 'directory of the control sockets', DEFAULT_RUN_DIR)
  .option('-j, --json', 'JSON output')
  .action(async (what: string, opts: { vr: string; runDir: string; json?: boolean }) => {
    if (!(SHOWABLE as readonly string[]).includes(what)) {
      throw new UserError(`cannot show '${what}': choose one of ${SHOWABLE.join(', ')}`);
    }
    let data: unknown;
    try {
      data = await request(controlSocketPath(opts.runDir, opts.vr), `show.${what}`);
    } catch (err) {
      if (err instanceof ControlError) throw new UserError(`VR '${opts.vr}': ${err.message}`);
      throw err;
    }
    const text =
      opts.json === true ? JSON.stringify(data, null, 2) : FORMATTERS[what as Showable](data as never);
    if (text !== '') console.log(text);
  });

program
  .command('exec')
  .description("run a program with its IPv4 sockets inside a VR (LD_PRELOAD shim), like 'ip vrf exec'")
  .argument('<vr>', 'the VR')
  .argument('<command...>', 'the program and its arguments (after --)')
  .option('--run-dir <dir>', 'directory of the VR sockets', DEFAULT_RUN_DIR)
  .option('--kernel <cidr>', 'keep this prefix on the kernel (repeatable)', collect, [])
  .option('--vr <cidr>', 'send this prefix to the VR (repeatable)', collect, [])
  .action(async (vr: string, command: string[], opts: { runDir: string; kernel: string[]; vr: string[] }) => {
    const { ExecError, runExec } = await import('./exec.ts');
    try {
      process.exitCode = await runExec({
        vr,
        runDir: opts.runDir,
        kernel: opts.kernel,
        vrPrefixes: opts.vr,
        command,
      });
    } catch (err) {
      if (err instanceof ExecError) throw new UserError(err.message);
      throw err;
    }
  });

program
  .command('demo')
  .description('build two hosts and a VR in network namespaces, ping and traceroute across, clean up')
  .option('--keep', 'leave the topology running until Ctrl-C')
  .action(async (opts: { keep?: boolean }) => {
    const { runDemo } = await import('./demo.ts');
    const ok = await runDemo({ keep: opts.keep === true });
    if (!ok) process.exitCode = 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof UserError) {
    console.error(`nexthop: ${err.message}`);
    process.exitCode = 1;
  } else {
    throw err;
  }
}
