/**
 * Streaming SHA-256 of a file: the one helper of @llm-forge/gpt that checkpoints use too, so a
 * shard and a checkpoint are hashed the same way.
 */
export { sha256File } from '@llm-forge/gpt';
