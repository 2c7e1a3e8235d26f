/** The Jobs tree's request: every named job with its schedule, next run and last run. */
import * as path from "node:path";
import { listJobs } from "../../jobs/list";
import { JobsRequest } from "../../protocol/requests";
import type { Feature } from "../feature";

export const jobsFeature: Feature = {
  register(c) {
    c.connection.onRequest(JobsRequest, (token) =>
      c.safe("jobs", token, { jobs: [] }, (i) => ({
        jobs: c.roots.flatMap((root) =>
          listJobs(i, root)
            .filter((job) => job.name)
            .map((job) => ({
              name: job.name!,
              file: path.resolve(root, job.file),
              line: job.line,
              selection: job.selection,
              schedule: job.schedule,
              timezone: job.timezone,
              assets: job.assets.length,
              steps: job.steps,
              nextRun: job.nextRunLocal ?? job.nextRun,
              lastRunStatus: job.lastRun?.status,
              lastRunAt: job.lastRun?.startedAt,
              errors: job.errors,
            })),
        ),
      })),
    );
  },
};
