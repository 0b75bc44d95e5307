/**
 * Simulated hosts on one machine, for measuring scale-out: each host is a network namespace with its
 * own address on a bridge (a veth pair per host), its link optionally rate-limited with a token
 * bucket (`tc qdisc … tbf`, both directions), its processes pinned to its own core (`taskset`).
 * The coordinator and Redis stay in the root namespace on the bridge's address.
 *
 * Needs root and `ip netns` (iproute2); {@link hostsUnavailable} says why not. Only private
 * addresses (10.77.0.0/24) inside namespaces this module made; {@link HostNetwork.teardown} removes
 * everything it made, and is safe to call twice (also on a failure half-way through `create`, and
 * on SIGINT or SIGTERM: see {@link onInterrupt}).
 */
'use strict';
const { execFileSync, spawn } = require('child_process');

/** The bridge's address: the coordinator and Redis listen here. */
const BRIDGE_ADDRESS = '10.77.0.1';
const SUBNET_BITS = 24;
const PREFIX = 'fg'; // every interface and namespace this module makes starts with it
let networksMade = 0;
/** Networks made and not yet torn down, and what else an interrupted process must stop first. */
const live = new Set();
const cleanups = new Set();

/**
 * On SIGINT or SIGTERM: runs the registered cleanups (stopping processes outside the namespaces), tears
 * down every live network, then exits with the signal's status; a benchmark interrupted half-way
 * leaves no namespace, bridge or process behind.
 */
function onSignal(signal) {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      cleanup();
    } catch {
      /* keep cleaning */
    }
  }
  for (const net of [...live]) net.teardown();
  process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
}
let handling = false;

/** Installs {@link onSignal} once, when the first network is made (requiring this module does not). */
function handleSignals() {
  if (handling) return;
  handling = true;
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/**
 * Registers `fn` (synchronous) to run if this process is interrupted by SIGINT or SIGTERM, before the
 * networks are torn down; returns a function that unregisters it.
 */
function onInterrupt(fn) {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs a command; throws with its stderr when it fails. */
function sh(cmd, args, options = {}) {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }).toString();
  } catch (error) {
    const stderr = error.stderr ? error.stderr.toString().trim() : '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr || error.message}`);
  }
}

/** Why simulated hosts cannot be made here (not root, no `ip netns`, no `tc`), or undefined. */
function hostsUnavailable() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (ip netns, tc)';
  for (const [cmd, args] of [
    ['ip', ['netns', 'list']],
    ['tc', ['-V']],
    ['taskset', ['-V']],
  ]) {
    try {
      sh(cmd, args);
    } catch (error) {
      return `${cmd} is unavailable: ${error.message}`;
    }
  }
  // Listing is not making: a container without CAP_SYS_ADMIN lists namespaces but cannot add one.
  const probe = `${PREFIX}-probe-${process.pid}`;
  try {
    sh('ip', ['netns', 'add', probe]);
    sh('ip', ['netns', 'del', probe]);
  } catch (error) {
    return `cannot make a network namespace: ${error.message}`;
  }
  return undefined;
}

/**
 * A link's rate in `tc` terms with a burst and queue that let a TCP stream reach it:
 * `rateMbit` 0 or undefined leaves the link unshaped.
 */
function tbfArgs(dev, rateMbit) {
  // Burst: at least 10 ms of traffic at the rate (and one jumbo frame); queue: 50 ms of it.
  const bytesPerMs = (rateMbit * 1e6) / 8 / 1000;
  const burst = Math.max(Math.ceil(bytesPerMs * 10), 64 * 1024);
  return [
    'qdisc',
    'replace',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${rateMbit}mbit`,
    'burst',
    String(burst),
    'latency',
    '50ms',
  ];
}

/** The hosts of one experiment; {@link create} makes them. */
class HostNetwork {
  /**
   * @param {number} count hosts to make
   * @param {{ rateMbit?: number, tag?: string }} options link rate (both directions) and a short tag
   *   distinguishing concurrent networks (default: this process id)
   */
  constructor(count, options = {}) {
    this.count = count;
    this.rateMbit = options.rateMbit ?? 0;
    // Unique per network of this process: a torn-down namespace may linger while its processes exit.
    this.tag = (options.tag ?? `${process.pid % 1000}${networksMade++ % 10}`).slice(0, 4);
    this.bridge = `${PREFIX}br${this.tag}`;
    this.made = { bridge: false, namespaces: [], links: [] };
  }

  /** Host i's namespace, interface names and address. */
  host(i) {
    return {
      namespace: `${PREFIX}-${this.tag}-h${i}`,
      outside: `${PREFIX}${this.tag}o${i}`,
      inside: `${PREFIX}${this.tag}i${i}`,
      address: `10.77.0.${10 + i}`,
    };
  }

  /** Makes the bridge and every host; on a failure removes what it made and rethrows. */
  create() {
    handleSignals();
    live.add(this);
    try {
      sh('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
      this.made.bridge = true;
      sh('ip', ['addr', 'add', `${BRIDGE_ADDRESS}/${SUBNET_BITS}`, 'dev', this.bridge]);
      sh('ip', ['link', 'set', this.bridge, 'up']);
      for (let i = 0; i < this.count; i++) this.createHost(i);
    } catch (error) {
      this.teardown();
      throw error;
    }
    return this;
  }

  createHost(i) {
    const h = this.host(i);
    sh('ip', ['netns', 'add', h.namespace]);
    this.made.namespaces.push(h.namespace);
    sh('ip', ['link', 'add', h.outside, 'type', 'veth', 'peer', 'name', h.inside]);
    this.made.links.push(h.outside);
    sh('ip', ['link', 'set', h.inside, 'netns', h.namespace]);
    sh('ip', ['link', 'set', h.outside, 'master', this.bridge]);
    sh('ip', ['link', 'set', h.outside, 'up']);
    const inNs = (...args) => sh('ip', ['netns', 'exec', h.namespace, ...args]);
    inNs('ip', 'addr', 'add', `${h.address}/${SUBNET_BITS}`, 'dev', h.inside);
    inNs('ip', 'link', 'set', h.inside, 'up');
    inNs('ip', 'link', 'set', 'lo', 'up');
    if (this.rateMbit > 0) {
      sh('tc', tbfArgs(h.outside, this.rateMbit)); // towards the host
      inNs('tc', ...tbfArgs(h.inside, this.rateMbit)); // from the host
    }
  }

  /**
   * Starts `command args` in host i's namespace, pinned to `core` (a detached process group, so
   * teardown can kill what it started), with its output appended to `logFd`.
   */
  spawnOnHost(i, core, command, args, env, logFd) {
    const h = this.host(i);
    return spawn('ip', ['netns', 'exec', h.namespace, 'taskset', '-c', String(core), command, ...args], {
      env,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
  }

  /** Removes every namespace and interface this network made (idempotent). */
  teardown() {
    live.delete(this);
    for (const ns of this.made.namespaces.splice(0)) {
      // Processes still inside keep a namespace alive: kill them first.
      try {
        const pids = sh('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean);
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      } catch {
        /* namespace already gone */
      }
      try {
        sh('ip', ['netns', 'del', ns]); // takes the inside ends of the veth pairs with it
      } catch {
        /* already gone */
      }
    }
    for (const link of this.made.links.splice(0)) {
      try {
        sh('ip', ['link', 'del', link]); // and its peer, wherever it is
      } catch {
        /* went with its namespace */
      }
    }
    if (this.made.bridge) {
      this.made.bridge = false;
      try {
        sh('ip', ['link', 'del', this.bridge]);
      } catch {
        /* already gone */
      }
    }
  }
}

module.exports = { BRIDGE_ADDRESS, HostNetwork, hostsUnavailable, onInterrupt, tbfArgs };
