import type { CoreConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { openDatabase } from '../memory/database.js';
import { engineLoader } from './engine-loader.js';
import { FeedbackDesk } from './feedback.js';
import { experimentReport } from './report.js';
import { reportPage } from './report-page.js';
import { LearningStore } from './store.js';
import { type EngineLoader, VariantEngine } from './variant-engine.js';
import { loadExperiments } from './variants.js';

export type { PipelineLearning } from './feedback.js';

/** The core's learning loop, running: the variant engine, feedback, and the report page. */
export interface Learning {
  readonly store: LearningStore;
  readonly engine: VariantEngine;
  readonly feedback: FeedbackDesk;
  /** The admin port's `/experiments` page. */
  page(): string;
  /** Frees the engines and the database connection. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Opens the learning tables in the core's SQLite file, reads HEARTH_EXPERIMENTS (every variant's
 * model and adapter must exist) and loads the variants' engines.
 *
 * @throws ConfigError for a bad experiments file or a missing model or adapter
 * @example
 * const learning = await startLearning(config, log);
 * new Pipeline({ engine: learning.engine, learning: learning.feedback, ... });
 */
export async function startLearning(config: CoreConfig, log: Logger, load: EngineLoader = engineLoader(config, log)): Promise<Learning> {
  const experiments = loadExperiments(config.experimentsFile);
  const db = openDatabase(config.memory.databasePath);
  try {
    const store = new LearningStore(db);
    const engine = await VariantEngine.start({ experiments, store, load, log });
    const names = experiments.variants.map((v) => v.name);
    let disposing: Promise<void> | undefined;
    return {
      store,
      engine,
      feedback: new FeedbackDesk(store, log),
      page: () => reportPage(experimentReport(store, { variants: names })),
      dispose: () => {
        disposing ??= (async () => {
          await engine.dispose();
          db.close();
        })();
        return disposing;
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
