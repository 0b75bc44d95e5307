export { countTrainable, modelTrainables, variableTrainable } from './trainable';
export type { TrainableTensor } from './trainable';
export { SelectiveTrainer } from './selective-trainer';
export type { SelectiveStep, SelectiveTrainerOptions } from './selective-trainer';
