#!/usr/bin/env node
// Compiles every Solidity file under evm/contracts with the solc-js pinned in
// package.json (exact version, checked below) and fixed settings, and writes one
// artifact per contract, <ContractName>.json, into the output directory (default
// evm/artifacts), replacing the *.json files there.
//
// Artifacts are deterministic: the same sources and compiler give the same bytes
// (sorted keys, no metadata hash in the bytecode), so check.sh can recompile and
// compare, and `cargo test` reads the committed ones without Node.
//
// Usage: node compile.js [OUT_DIR]
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const root = path.resolve(__dirname, '..', '..');
const contractsDir = path.join(root, 'evm', 'contracts');
const outDir = path.resolve(process.argv[2] || path.join(root, 'evm', 'artifacts'));

// The fork the contracts target: the in-process EVM of the tests runs the same one
// (zkmargin_evm::harness::EVM_SPEC). Cancun code runs unchanged on later forks.
const settings = {
  evmVersion: 'cancun',
  optimizer: { enabled: true, runs: 200 },
  // No CBOR metadata (and so no metadata hash) in the bytecode: artifacts change when
  // the code does, not when a comment does.
  metadata: { bytecodeHash: 'none', appendCBOR: false },
  outputSelection: {
    '*': {
      '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers'],
    },
  },
};

function fail(message) {
  process.stderr.write(`compile.js: ${message}\n`);
  process.exit(1);
}

const pinned = require('./package.json').dependencies.solc;
if (!solc.version().startsWith(`${pinned}+`)) {
  fail(`solc ${solc.version()} is installed, package.json pins ${pinned}: run npm ci in scripts/evm`);
}

function solidityFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return solidityFiles(full);
      return entry.name.endsWith('.sol') ? [full] : [];
    });
}

// Source unit names are paths relative to evm/contracts with forward slashes, so
// relative imports ("../generated/X.sol") resolve among the given sources.
const sources = {};
const digests = {};
for (const file of solidityFiles(contractsDir)) {
  const name = path.relative(contractsDir, file).split(path.sep).join('/');
  const bytes = fs.readFileSync(file);
  sources[name] = { content: bytes.toString('utf8') };
  digests[name] = crypto.createHash('sha256').update(bytes).digest('hex');
}
if (Object.keys(sources).length === 0) fail(`no .sol files under ${contractsDir}`);

const output = JSON.parse(
  solc.compile(JSON.stringify({ language: 'Solidity', sources, settings }), {
    import: (p) => ({ error: `import ${p} is not under evm/contracts` }),
  }),
);
const diagnostics = output.errors || [];
for (const d of diagnostics) process.stderr.write(`${d.formattedMessage || d.message}\n`);
// Warnings fail too: generated code and fixtures are kept warning-free.
if (diagnostics.length > 0) fail(`${diagnostics.length} compiler diagnostics`);

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys(value[k])]),
    );
  }
  return value;
}

const artifacts = {};
for (const sourceName of Object.keys(output.contracts || {}).sort()) {
  for (const [contractName, c] of Object.entries(output.contracts[sourceName])) {
    if (artifacts[contractName]) {
      fail(`contract ${contractName} is defined in ${artifacts[contractName].sourceName} and ${sourceName}`);
    }
    artifacts[contractName] = {
      contractName,
      sourceName,
      sourceSha256: digests[sourceName],
      compiler: solc.version(),
      settings: { evmVersion: settings.evmVersion, optimizer: settings.optimizer },
      abi: c.abi,
      methodIdentifiers: c.evm.methodIdentifiers,
      bytecode: c.evm.bytecode.object,
      deployedBytecode: c.evm.deployedBytecode.object,
    };
  }
}

fs.mkdirSync(outDir, { recursive: true });
for (const old of fs.readdirSync(outDir)) {
  if (old.endsWith('.json')) fs.unlinkSync(path.join(outDir, old));
}
for (const name of Object.keys(artifacts).sort()) {
  const file = path.join(outDir, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(sortKeys(artifacts[name]), null, 2)}\n`);
  const size = artifacts[name].deployedBytecode.length / 2;
  process.stdout.write(`${path.relative(root, file)}: ${size} bytes of runtime code\n`);
}
