/** The generated tiny ChatML model, written once per machine into .cache/ of the repository. */
import { join } from 'node:path';
import { ensureTinyChatModel } from '../../scripts/make-tiny-model';
import { repoRoot } from './shared';

export function tinyChatModelPath(): string {
  return ensureTinyChatModel(join(repoRoot, '.cache', 'test-models', 'tiny-chatml-s1.gguf'), {
    seed: 1,
  });
}
