/**
 * Optional CPU profiling of bench/pipeline.ts's stages (--cpu-profile DIR):
 * the V8 sampling profiler of this very process (node:inspector), one
 * `<stage>.cpuprofile` per stage (open it in Chrome DevTools or speedscope),
 * and a summary of where the time went: self time by npm package or project
 * directory, so "dynalite", "fauxqs", "@aws-sdk/..." and "shared/app" can be
 * told apart at a glance.
 */
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a function lives: an npm package, a directory of the project, Node's internals, or V8's own (gc, idle). */
export function ownerOf(url: string, functionName: string, root: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first = '', second = ''] = path.slice(modules + '/node_modules/'.length).split('/');
    return first.startsWith('@') ? `${first}/${second}` : first;
  }
  if (path.startsWith(root)) {
    const parts = path.slice(root.length).split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : (parts[0] ?? path);
  }
  return path;
}

/** Self time (ms) by owner, largest first. */
export function selfTimeByOwner(profile: Profile, root: string): Record<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((id, index) => {
    const node = byId.get(id);
    if (!node) return;
    const owner = ownerOf(node.callFrame.url, node.callFrame.functionName, root);
    totals.set(owner, (totals.get(owner) ?? 0) + (deltas[index] ?? 0) / 1000);
  });
  return Object.fromEntries([...totals].sort(([, a], [, b]) => b - a).map(([owner, ms]) => [owner, Math.round(ms)]));
}

export async function startProfiler(directory: string, root: string) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  let running = false;
  return {
    async start(): Promise<void> {
      await session.post('Profiler.start');
      running = true;
    },
    /** Stops, writes `<name>.cpuprofile`, and gives the self time by owner (ms). */
    async stop(name: string): Promise<Record<string, number>> {
      if (!running) return {};
      running = false;
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
      await writeFile(join(directory, `${name}.cpuprofile`), JSON.stringify(profile));
      return selfTimeByOwner(profile, root);
    },
    close(): void {
      session.disconnect();
    },
  };
}
