/**
 * Pushed diagnostics: the index's (parse errors, unknown refs, cycles, config) and the jobs'
 * (validated against the whole graph: selection, schedule, duplicate names), per file; a file
 * that had diagnostics and has none any more is cleared.
 */
import { DiagnosticSeverity, type Connection, type Diagnostic } from "vscode-languageserver";
import type { WorkspaceIndex } from "../index/workspace";
import { jobDiagnostics } from "../jobs/jobs";
import type { IndexDiagnostic } from "../protocol/types";
import { pathToUri } from "./lookup";

export class DiagnosticsPublisher {
  private readonly published = new Set<string>();

  constructor(private readonly connection: Connection) {}

  /** `readText`: an open document's text (jobs are read from the editor when open). */
  publish(index: WorkspaceIndex, roots: string[], readText: (file: string) => string | undefined): void {
    const all = index.diagnostics();
    for (const d of jobDiagnostics(index, { roots, readText })) {
      all.set(d.file, [...(all.get(d.file) ?? []), d]);
    }
    for (const file of this.published) {
      if (!all.has(file)) void this.connection.sendDiagnostics({ uri: pathToUri(file), diagnostics: [] });
    }
    this.published.clear();
    for (const [file, list] of all) {
      this.published.add(file);
      void this.connection.sendDiagnostics({ uri: pathToUri(file), diagnostics: list.map(toLspDiagnostic) });
    }
  }
}

function toLspDiagnostic(d: IndexDiagnostic): Diagnostic {
  const severity = d.severity === "error" ? DiagnosticSeverity.Error : d.severity === "warning" ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information;
  return { range: d.span, severity, message: d.message, source: "tributary", code: d.code };
}
