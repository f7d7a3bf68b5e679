/**
 * Readings of another process from /proc (Linux): CPU time and resident memory.
 *
 * CPU time is utime + stime of the whole process (every thread: main, GC helpers, the
 * libuv pool, tsx's loader thread), so a server's cost per request is
 * (cpu after − cpu before) ÷ requests, wherever the load generator runs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

let clockTicksPerSecond: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat; 100 on every common kernel. */
function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** CPU time (user + system) the process has used so far, in microseconds; resolution 1/USER_HZ s. */
export function cpuTimeUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`cannot parse utime/stime of pid ${pid} from /proc/${pid}/stat`);
  return (ticks * 1_000_000) / ticksPerSecond();
}

/** Resident set size in MB (VmRSS from /proc/<pid>/status). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status (has the process exited?)`);
  return Number(match[1]) / 1024;
}

/**
 * Time the hypervisor has run something else while each core wanted to run (the `steal` column of
 * /proc/stat, per core), in ms since boot; an empty array where /proc/stat has none. A server
 * pinned to a core stalls for whatever is stolen from it, as in a GC pause.
 */
export function stealMsByCore(): number[] {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n').filter((line) => /^cpu\d+ /.test(line));
    // cpuN user nice system idle iowait irq softirq steal …: steal is field 8 (index 8 with the name at 0).
    return lines.map((line) => (Number(line.split(/\s+/)[8]) * 1000) / ticksPerSecond()).filter((ms) => Number.isFinite(ms));
  } catch {
    return [];
  }
}

/** True when /proc readings are possible here (Linux). */
export function procAvailable(): boolean {
  try {
    cpuTimeUs(process.pid);
    return true;
  } catch {
    return false;
  }
}

/** The machine, for the report: cores, CPU model and Node version. */
export function machineInfo(): { cores: number; cpuModel: string; node: string; platform: string } {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  let cores = availableParallelism();
  try {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpuModel;
    cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length || cores;
  } catch {
    // not Linux: keep what node:os says
  }
  return { cores, cpuModel, node: process.version, platform: `${process.platform}-${process.arch}` };
}
