import { runTool, toolVersion } from '../tools';
import { InfraFileError, isObject, JsonObject, parseYamlDocuments } from '../yaml-files';

/** A compose service as `docker-compose config` writes it. */
export type ComposeService = JsonObject;

/** A compose file resolved by `docker-compose config`: variables interpolated, anchors merged. */
export interface ComposeProject {
  file: string;
  config: JsonObject;
  services: Map<string, ComposeService>;
}

/** `docker-compose version`'s first line, or undefined when docker-compose is not installed. */
export function dockerComposeVersion(): string | undefined {
  return toolVersion('docker-compose', ['version'])?.split('\n')[0];
}

/**
 * Runs `docker-compose -f FILE config` (no engine needed) with exactly `env` (plus PATH) as the
 * environment, so the host's variables cannot leak in; compose still reads the `.env` beside
 * FILE, as `docker compose up` does. Compose interpolates and checks the file against its schema;
 * a missing required variable or an unknown field throws a ToolError with compose's message.
 */
export function renderCompose(file: string, env: Readonly<Record<string, string>>): ComposeProject {
  const command = `docker-compose -f ${file} config`;
  const text = runTool('docker-compose', ['-f', file, 'config'], { env: { PATH: process.env.PATH, ...env } });
  const [config] = parseYamlDocuments(text, command);
  if (!isObject(config) || !isObject(config.services))
    throw new InfraFileError(command, 'printed no services');
  const services = new Map(
    Object.entries(config.services).filter(([, s]) => isObject(s)) as [string, ComposeService][],
  );
  return { file, config, services };
}
