import { DEFAULT_RUN_DIR, versionLine } from '@nexthop/control';
import type { VrStatus } from '@nexthop/nexthopd';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { apiSocketPath, connectApi, notRunning } from './api-client.ts';
import { CliError, vrFailure } from './errors.ts';
import { formatVrs } from './format.ts';
import { familyFlag, SHOWABLE, show } from './show.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

/** Prints what a command produced; a trailing newline only when there is something. */
function emit(out: string, err = ''): void {
  if (out !== '') console.log(out);
  if (err !== '') console.error(err);
}

const RUN_DIR_HELP = "nexthopd's and the VRs' socket directory ($NEXTHOP_RUN_DIR, else /run/nexthop)";

const program = new Command('nexthop')
  .description('nexthop: a virtual router outside the Linux kernel')
  .version(versionLine('nexthop'), '-V, --version', 'the version of nexthop and of the Node.js it runs on')
  .showHelpAfterError()
  .exitOverride();

const VR_ACTIONS = ['start', 'stop', 'restart'];

program
  .command('vr')
  .description(
    'start, stop or restart a VR under nexthopd (vr start NAME), or run one VR in the foreground (vr --config FILE)',
  )
  .argument('[action]', VR_ACTIONS.join(' | '))
  .argument('[name]', 'the VR')
  .option('--config <file>', 'YAML configuration file (foreground VR)')
  .option('--name <name>', 'router to run (needed when the file has several)')
  .option('--run-dir <dir>', RUN_DIR_HELP, DEFAULT_RUN_DIR)
  .action(
    async (
      action: string | undefined,
      name: string | undefined,
      opts: { config?: string; name?: string; runDir: string },
    ) => {
      if (action === undefined) {
        if (opts.config === undefined)
          throw new CliError(
            'vr needs --config FILE (run a VR in the foreground) or start|stop|restart NAME',
            2,
          );
        try {
          // Loaded on demand: `show` should not pay for the drivers and the stack.
          const { runVrProcess } = await import('@nexthop/vr');
          await runVrProcess({ configPath: opts.config, name: opts.name, runDir: opts.runDir });
        } catch (err) {
          throw new CliError(err instanceof Error ? err.message : String(err));
        }
        return;
      }
      if (!VR_ACTIONS.includes(action))
        throw new CliError(`unknown vr action '${action}': choose one of ${VR_ACTIONS.join(', ')}`, 2);
      if (name === undefined) throw new CliError(`vr ${action} needs the VR's name`, 2);
      if (opts.config !== undefined) throw new CliError(`vr ${action} takes no --config`, 2);
      const api = await connectApi(opts.runDir);
      if (api === null) throw new CliError(notRunning(apiSocketPath(opts.runDir)));
      let status: VrStatus;
      try {
        status = await api.post<VrStatus>(`/vrs/${encodeURIComponent(name)}/${action}`);
      } catch (err) {
        throw vrFailure(name, err);
      }
      emit(formatVrs([status]));
    },
  );

program
  .command('show')
  .description(
    `show ${SHOWABLE.join(', ')}: of one VR with --vr, else of every VR nexthopd runs; ` +
      'show bgp [summary | neighbors [NAME] | routes [PREFIX]]: the BGP instance of a VR; ' +
      'show ospf [summary | interfaces | neighbors | database | routes] [-6]: its OSPF (-6: OSPFv3) instance; ' +
      'show rip [routes | interfaces | neighbors]: its RIPv2 and RIPng instances; ' +
      'show bfd: its BFD sessions',
  )
  .argument('<what>', [...SHOWABLE, 'bgp', 'ospf', 'rip', 'bfd'].join(' | '))
  .argument(
    '[args...]',
    'routes: a PREFIX (its candidates) or for ADDRESS (the route used); bgp: summary, neighbors [NAME] or routes [PREFIX]',
  )
  .option('--vr <name>', 'the VR to ask (needed when nexthopd is not running)')
  .option('--run-dir <dir>', RUN_DIR_HELP, DEFAULT_RUN_DIR)
  .option('-j, --json', 'JSON output: the rows the table shows, in the same order')
  .option('-4, --ipv4', 'show routes: the IPv4 routes only')
  .option('-6, --ipv6', 'show routes: the IPv6 routes only')
  .action(
    async (
      what: string,
      args: string[],
      opts: { vr?: string; runDir: string; json?: boolean; ipv4?: boolean; ipv6?: boolean },
    ) => {
      if (what === 'bfd') {
        if (args.length > 0) throw new CliError(`show bfd takes no further words (got ${args.join(' ')})`, 2);
        const { showBfd } = await import('./show-bfd.ts');
        emit(await showBfd({ runDir: opts.runDir, vr: opts.vr, json: opts.json === true }));
        return;
      }
      if (what === 'ospf') {
        if (args.length > 1)
          throw new CliError(`show ospf takes at most one word (got ${args.join(' ')})`, 2);
        const { showOspf } = await import('./show-ospf.ts');
        emit(
          await showOspf(args[0] ?? 'summary', {
            runDir: opts.runDir,
            vr: opts.vr,
            json: opts.json === true,
            version: familyFlag(opts) === 6 ? 3 : 2,
          }),
        );
        return;
      }
      if (what === 'rip') {
        if (args.length > 1) throw new CliError(`show rip takes at most one word (got ${args.join(' ')})`, 2);
        if (familyFlag(opts) !== undefined) throw new CliError('-4 and -6 apply to show routes only', 2);
        const { showRip } = await import('./show-rip.ts');
        emit(
          await showRip(args[0] ?? 'routes', { runDir: opts.runDir, vr: opts.vr, json: opts.json === true }),
        );
        return;
      }
      if (what === 'bgp') {
        if (args.length > 2)
          throw new CliError(`show bgp takes at most two words (got ${args.join(' ')})`, 2);
        if (familyFlag(opts) !== undefined) throw new CliError('-4 and -6 apply to show routes only', 2);
        const { showBgp } = await import('./show-bgp.ts');
        emit(
          await showBgp(args[0] ?? 'summary', args[1], {
            runDir: opts.runDir,
            vr: opts.vr,
            json: opts.json === true,
          }),
        );
        return;
      }
      // show routes PREFIX | show routes for ADDRESS
      const lookup = what === 'routes' && args[0] === 'for';
      const words = what !== 'routes' ? 0 : lookup ? 2 : 1;
      if (args.length > words || (lookup && args.length !== 2)) {
        const allowed = words === 0 ? 'no further words' : 'a PREFIX, or for ADDRESS';
        throw new CliError(`show ${what} takes ${allowed} (got ${args.join(' ')})`, 2);
      }
      const result = await show(what, {
        runDir: opts.runDir,
        vr: opts.vr,
        json: opts.json === true,
        family: familyFlag(opts),
        ...(lookup ? { lookup: args[1]! } : args[0] === undefined ? {} : { prefix: args[0] }),
      });
      emit(result.text);
      for (const f of result.failures) console.error(`nexthop: ${f}`);
      if (result.failures.length > 0) process.exitCode = 1;
    },
  );

const config = program
  .command('config')
  .description("check, compare, apply or roll back nexthopd's configuration");

config
  .command('check')
  .description('validate a config file (with nexthopd when it runs, else locally)')
  .argument('<file>', 'YAML configuration file')
  .option('--run-dir <dir>', RUN_DIR_HELP, DEFAULT_RUN_DIR)
  .action(async (file: string, opts: { runDir: string }) => {
    const { configCheck } = await import('./config-cmd.ts');
    const r = await configCheck(file, opts.runDir);
    emit(r.out, r.err);
  });

config
  .command('diff')
  .description('what applying a config file would change, one line a change (+ added, - removed, ~ changed)')
  .argument('<file>', 'YAML configuration file')
  .option('--run-dir <dir>', RUN_DIR_HELP, DEFAULT_RUN_DIR)
  .option('-j, --json', 'JSON output')
  .action(async (file: string, opts: { runDir: string; json?: boolean }) => {
    const { configDiff } = await import('./config-cmd.ts');
    const r = await configDiff(file, opts.runDir, opts.json === true);
    emit(r.out, r.err);
  });

config
  .command('apply')
  .description('apply a config file: only what differs changes, untouched VRs are not restarted')
  .argument('<file>', 'YAML configuration file')
  .option('--run-dir <dir>', RUN_DIR_HELP, DEFAULT_RUN_DIR)
  .option('-j, --json', 'JSON output')
  .action(async (file: string, opts: { runDir: string; json?: boolean }) => {
    const { configApply } = await import('./config-cmd.ts');
    const r = await configApply(file, opts.runDir, opts.json === true);
    emit(r.out, r.err);
  });

config
  .command('rollback')
  .description('return to the previously applied configuration')
  .option('--run-dir <dir>', RUN_DIR_HELP, DEFAULT_RUN_DIR)
  .option('-j, --json', 'JSON output')
  .action(async (opts: { runDir: string; json?: boolean }) => {
    const { configRollback } = await import('./config-cmd.ts');
    const r = await configRollback(opts.runDir, opts.json === true);
    emit(r.out, r.err);
  });

config
  .command('show')
  .description('print the running configuration (YAML)')
  .option('--run-dir <dir>', RUN_DIR_HELP, DEFAULT_RUN_DIR)
  .option('-j, --json', 'JSON output')
  .action(async (opts: { runDir: string; json?: boolean }) => {
    const { configShow } = await import('./config-cmd.ts');
    const r = await configShow(opts.runDir, opts.json === true);
    emit(r.out, r.err);
  });

program
  .command('capture')
  .description("write the frames a VR's interface receives and sends to a pcap file (tcpdump -r reads it)")
  .requiredOption('--vr <name>', 'the VR')
  .requiredOption('--interface <name>', "the VR's interface")
  .option('-c, --count <n>', 'stop after this many frames (default 100)', positiveInteger)
  .option('--timeout <sec>', 'stop after this many seconds (default 60)', positiveNumber)
  .requiredOption('-w, --write <file>', "the pcap file, '-' for standard output")
  .option('--run-dir <dir>', RUN_DIR_HELP, DEFAULT_RUN_DIR)
  .action(
    async (opts: {
      vr: string;
      interface: string;
      count?: number;
      timeout?: number;
      write: string;
      runDir: string;
    }) => {
      const { checkCaptureOptions, describeCapture, runCapture } = await import('./capture.ts');
      const options = {
        runDir: opts.runDir,
        vr: opts.vr,
        interface: opts.interface,
        count: opts.count,
        timeoutSec: opts.timeout,
        write: opts.write,
      };
      checkCaptureOptions(options);
      const result = await runCapture(options);
      console.error(describeCapture(result, opts.write));
    },
  );

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
      if (err instanceof ExecError) throw new CliError(err.message);
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
  } else if (err instanceof CliError) {
    console.error(err.bare ? err.message : `nexthop: ${err.message}`);
    process.exitCode = err.exitCode;
  } else {
    throw err;
  }
}
