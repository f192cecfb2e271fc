// The control API's bearer token: read from the environment variable that http.tokenEnv names
// (never from the config file itself), and compared in constant time. The token is never logged
// and never part of an answer; /status says only whether one is required.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.js';

export interface ControlToken {
  /** The environment variable it came from, for messages (the name is not secret). */
  readonly envName: string;
  /** SHA-256 of the token: compared digest to digest, the same length whatever was sent. */
  readonly digest: Buffer;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The token http.tokenEnv names; undefined when none is configured. Set but unset or empty: a ConfigError naming both. */
export function resolveControlToken(tokenEnv: string | undefined, env: NodeJS.ProcessEnv = process.env): ControlToken | undefined {
  if (tokenEnv === undefined) return undefined;
  const value = env[tokenEnv];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`http.tokenEnv names the environment variable ${tokenEnv}, which is ${value === undefined ? 'not set' : 'empty'}: set it to the control API's token, or remove http.tokenEnv`);
  }
  return { envName: tokenEnv, digest: sha256(value) };
}

export type TokenCheck = { readonly ok: true } | { readonly ok: false; readonly error: string; readonly challenge: string };

/** Checks an Authorization header against the token. */
export function checkBearer(header: string | undefined, token: ControlToken): TokenCheck {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  if (!match) {
    return {
      ok: false,
      challenge: 'Bearer realm="tideferry"',
      error: `this request changes the run and needs the control token: send "Authorization: Bearer <token>" with the value of the environment variable ${token.envName} (tideferry ctl does when it can read it)`,
    };
  }
  if (!timingSafeEqual(sha256(match[1]!), token.digest)) {
    return { ok: false, challenge: 'Bearer realm="tideferry", error="invalid_token"', error: `the bearer token does not match the run's (${token.envName})` };
  }
  return { ok: true };
}
