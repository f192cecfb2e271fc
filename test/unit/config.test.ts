import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, resolveEndpoint } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-config-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const valid = `source: { host: db1, user: migrator, passwordEnv: SRC_PW }
target: { host: db2, port: 3307, user: migrator, password: secret }
databases: [shop]
`;

describe('config', () => {
  it('loads a valid YAML file with defaults', () => {
    const config = loadConfig(write('ok.yaml', valid));
    assert.equal(config.source.port, 3306);
    assert.equal(config.target.port, 3307);
    assert.equal(config.http.listen, '127.0.0.1:9107');
    assert.equal(config.copy.concurrency, 4);
    assert.deepEqual(config.binlog.batchSize, { min: 1, max: 5000, initial: 100 });
  });

  it('names an unknown key (a typo) and the file', () => {
    const path = write('typo.yaml', valid + 'copy: { batchRowz: 10 }\n');
    assert.throws(() => loadConfig(path), (error: unknown) => error instanceof ConfigError && error.message.includes(path) && /unknown key "copy\.batchRowz"/.test(error.message));
  });

  it('names a key with the wrong type', () => {
    assert.throws(() => loadConfig(write('type.yaml', valid.replace('port: 3307', 'port: "x"'))), /"target\.port": Invalid input: expected number/);
  });

  it('names a missing field', () => {
    assert.throws(() => loadConfig(write('missing.yaml', valid.replace('databases: [shop]\n', ''))), /"databases": Invalid input/);
  });

  it('says which file is missing', () => {
    assert.throws(() => loadConfig(join(dir, 'nope.yaml')), /cannot read config file .*nope\.yaml: ENOENT/);
  });

  it('reads the password from the environment and says when the variable is unset', () => {
    const config = loadConfig(write('env.yaml', valid));
    assert.equal(resolveEndpoint(config.source, 'source', { SRC_PW: 'pw' }).password, 'pw');
    assert.throws(() => resolveEndpoint(config.source, 'source', {}), /source\.passwordEnv names the environment variable SRC_PW, which is not set/);
  });

  it('rejects invalid YAML with the file name', () => {
    assert.throws(() => loadConfig(write('bad.yaml', 'source: [unclosed')), /bad\.yaml is not valid YAML/);
  });
});
