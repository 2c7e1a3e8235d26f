/** Every LSP feature the server offers; server.ts announces their capabilities and registers each. */
import type { Feature } from "./feature";
import { completionFeature } from "./register/completion";
import { graphFeature } from "./register/graph";
import { hoverFeature } from "./register/hover";
import { jobsFeature } from "./register/jobs";
import { lensesFeature } from "./register/lenses";
import { navigationFeature } from "./register/navigation";
import { runsFeature } from "./register/runs";
import { sqlFeature } from "./register/sql";
import { symbolsFeature } from "./register/symbols";

export const FEATURES: readonly Feature[] = [hoverFeature, navigationFeature, completionFeature, lensesFeature, symbolsFeature, graphFeature, runsFeature, sqlFeature, jobsFeature];
