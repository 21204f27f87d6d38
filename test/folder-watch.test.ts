import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchFolder, type FolderWatch } from '../src/folder-watch.ts';
import { captureLog, makeTempDir, type CapturedLog, type TempDir } from './helpers/identity-harness.ts';
import { waitFor } from './helpers/wait-for.ts';

let temp: TempDir;
let dir: string;
let logs: CapturedLog;
let watch: FolderWatch | undefined;
let changes: number;
/** The watch tries a missing folder again this often: a few tries take a fraction of a second. */
const REWATCH_MS = 50;

beforeEach(() => {
  temp = makeTempDir('folder-watch');
  dir = join(temp.dir, 'mappings');
  logs = captureLog();
  changes = 0;
});

afterEach(() => {
  watch?.close();
  watch = undefined;
  temp.remove();
});

function start(): void {
  watch = watchFolder({
    dir,
    what: 'mappings',
    recursive: false,
    relevant: (name) => name.endsWith('.yaml'),
    onChange: () => void changes++,
    log: logs.log,
    rewatchMs: REWATCH_MS,
  });
}

/** Writes files into the folder until one is reported: the new watch may not be in place at the first write. */
async function reportsWrites(): Promise<void> {
  const before = changes;
  let n = 0;
  await waitFor('a write in the folder to be reported', () => {
    writeFileSync(join(dir, `probe-${n++}.yaml`), 'rules: []\n');
    return changes > before;
  }, 10_000, 100);
}

const messages = () => logs.lines().map((line) => line.msg);

describe('watchFolder', () => {
  it('Should report relevant changes and ignore the rest', async () => {
    mkdirSync(dir);
    start();
    writeFileSync(join(dir, 'notes.txt'), 'not a rule file');
    writeFileSync(join(dir, 'rules.yaml'), 'rules: []\n');
    await waitFor('the rule file change', () => changes > 0);
    const seen = changes;
    writeFileSync(join(dir, 'notes.txt'), 'still not one');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(changes).toBe(seen);
  });

  it('Should watch a folder that appears after the start, saying once that it is missing', async () => {
    start();
    // Several tries while it is missing, each of which could say so again.
    await new Promise((resolve) => setTimeout(resolve, 6 * REWATCH_MS));
    mkdirSync(dir);
    await waitFor('the folder to be watched', () => messages().includes('watching the mappings folder again'));
    await reportsWrites();
    const missing = logs.lines().filter((line) => line.msg === 'cannot watch the mappings folder; trying again every second');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ dir, problem: 'the folder does not exist' });
    expect(missing[0]).not.toHaveProperty('err');
  });

  it('Should follow a folder removed and made again', async () => {
    mkdirSync(dir);
    start();
    rmSync(dir, { recursive: true });
    await waitFor('the lost watch to be noticed', () => messages().includes('lost the watch on the mappings folder; trying again every second'));
    mkdirSync(dir);
    const before = changes;
    await waitFor('the folder to be watched again', () => messages().includes('watching the mappings folder again'));
    // Coming back counts as a change: the folder may hold other rules than before.
    expect(changes).toBeGreaterThan(before);
    await reportsWrites();
  });

  it('Should follow a folder swapped for another by a rename, as deploys do', async () => {
    mkdirSync(dir);
    start();
    const next = join(temp.dir, 'mappings.next');
    mkdirSync(next);
    writeFileSync(join(next, 'rules.yaml'), 'rules: []\n');
    renameSync(dir, join(temp.dir, 'mappings.old'));
    renameSync(next, dir);
    await waitFor('the swapped folder to be watched', () => messages().includes('watching the mappings folder again'));
    await reportsWrites();
  });
});
