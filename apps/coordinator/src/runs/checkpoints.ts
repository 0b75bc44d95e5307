/**
 * A run's checkpoints as the coordinator lists them (`GET /runs/:id/checkpoints`) and resumes from
 * them: the listing of @llm-forge/cluster-protocol, which the workers' names and the `latest` file are
 * defined in, so that the coordinator, the workers and the CLI read a run's directory one way.
 */
export {
  CHECKPOINT_MARKERS,
  LATEST_FILE,
  listCheckpoints,
  type CheckpointInfo,
} from '@llm-forge/cluster-protocol';
