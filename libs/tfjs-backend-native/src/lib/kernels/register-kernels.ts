import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';

/** Registers kernel configs, replacing (without a warning) any kernel of the same name and backend. */
export function registerKernelConfigs(configs: readonly KernelConfig[]): void {
  for (const config of configs) {
    if (getKernel(config.kernelName, config.backendName))
      unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
  }
}
