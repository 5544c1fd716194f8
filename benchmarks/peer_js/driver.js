// The PouchDB side of python -m benchmarks.peer (issue 17). One command per process:
//   node driver.js pull <remote db url> <local dir> <batch_size> <batches_limit>
//   node driver.js push <docs.json> <local dir> <remote db url> <batch_size> <batches_limit>
// pull: replicate.from the remote into a new local PouchDB (LevelDB on disk), timed.
// push: the docs are first written to a new local PouchDB (not timed), then
//       replicate.to the remote (a new, empty database on pouchdb-server), timed.
// Prints one JSON line: {seconds, docs_read, docs_written, cpu_s, ...}.
'use strict';
const fs = require('fs');
const PouchDB = require('pouchdb-node');

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function replicate(source, target, batchSize, batchesLimit) {
  const cpu0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  const info = await PouchDB.replicate(source, target, {
    batch_size: batchSize, batches_limit: batchesLimit,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    seconds, cpu_s: cpuSeconds() - cpu0, ok: info.ok, status: info.status,
    docs_read: info.docs_read, docs_written: info.docs_written,
    doc_write_failures: info.doc_write_failures,
  };
}

async function pull(remoteUrl, localDir, batchSize, batchesLimit) {
  const local = new PouchDB(localDir);
  const remote = new PouchDB(remoteUrl);
  try {
    const out = await replicate(remote, local, batchSize, batchesLimit);
    out.local_doc_count = (await local.info()).doc_count;
    return out;
  } finally {
    await local.close();
    await remote.close();
  }
}

async function push(docsFile, localDir, remoteUrl, batchSize, batchesLimit) {
  const docs = JSON.parse(fs.readFileSync(docsFile, 'utf8'));
  const local = new PouchDB(localDir);
  const remote = new PouchDB(remoteUrl);
  try {
    for (let i = 0; i < docs.length; i += 500) {  // the till's queue, not timed
      const res = await local.bulkDocs(docs.slice(i, i + 500));
      const failed = res.filter((r) => r.error);
      if (failed.length) throw new Error(`local write failed: ${JSON.stringify(failed[0])}`);
    }
    const out = await replicate(local, remote, batchSize, batchesLimit);
    out.remote_doc_count = (await remote.info()).doc_count;
    return out;
  } finally {
    await local.close();
    await remote.close();
  }
}

async function main(argv) {
  const [cmd, ...args] = argv;
  let out;
  if (cmd === 'pull') {
    out = await pull(args[0], args[1], Number(args[2]), Number(args[3]));
  } else if (cmd === 'push') {
    out = await push(args[0], args[1], args[2], Number(args[3]), Number(args[4]));
  } else if (cmd === 'version') {
    out = { pouchdb: PouchDB.version, node: process.version };
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
