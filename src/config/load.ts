// Loading and validating a config file (YAML or JSON). Errors name the file and the key.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { Endpoint } from '../db/connection.js';
import { configSchema, type Config, type ConfigInput, type EndpointConfig } from './schema.js';

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((key) => (path ? `${path}.${key}` : key));
        return `unknown key ${keys.map((key) => `"${key}"`).join(', ')}`;
      }
      return `${path ? `"${path}"` : 'config'}: ${issue.message}`;
    })
    .join('; ');
}

/** Validates an in-memory config (the demo and tests build theirs in code). */
export function parseConfig(input: unknown, origin = 'config'): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(`${origin}: ${formatIssues(result.error.issues)}`);
  return result.data;
}

export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let input: unknown;
  try {
    input = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  return parseConfig(input, `config file ${path}`);
}

export type { Config, ConfigInput };

/** The endpoint with its password resolved from the config or the environment. */
export function resolveEndpoint(config: EndpointConfig, role: 'source' | 'target' | 'replica', env = process.env): Endpoint {
  let password = config.password ?? '';
  if (config.passwordEnv !== undefined) {
    const value = env[config.passwordEnv];
    if (value === undefined) {
      throw new ConfigError(`${role}.passwordEnv names the environment variable ${config.passwordEnv}, which is not set`);
    }
    password = value;
  }
  let ca: string | undefined;
  if (config.tls?.ca) {
    try {
      ca = readFileSync(config.tls.ca, 'utf8');
    } catch (error) {
      throw new ConfigError(`${role}.tls.ca: cannot read ${config.tls.ca}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    password,
    tls: config.tls ? { ...(ca ? { ca } : {}), rejectUnauthorized: config.tls.rejectUnauthorized } : undefined,
  };
}
