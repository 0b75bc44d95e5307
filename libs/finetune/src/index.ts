/**
 * Finetuning of GPT models (chapters 6 and 7 and appendix E of *Build a Large Language Model (From
 * Scratch)*): classification, instruction following, LoRA adapters.
 */
export * from './lib/instruction';
export * from './lib/judge';
export * from './lib/classification';
export * from './lib/lora';
export * from './lib/jobs';
