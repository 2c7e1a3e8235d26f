/**
 * "Materialize selection…": an input box taking the selection grammar, validated as you type,
 * showing how many assets match and how many steps the plan has before anything runs.
 */
import * as vscode from "vscode";
import { SelectRequest } from "../../server/src/protocol/requests";
import { describeSelectResult } from "./selectionResult";
import type { TributaryClient } from "./client";

export async function askSelection(client: TributaryClient, initial = ""): Promise<string | undefined> {
  const box = vscode.window.createInputBox();
  box.title = "Materialize selection";
  box.placeholder = "e.g. +forecast_vs_actual, tag:finance, *order_forecast_model, group:forecasting and not kind:ts";
  box.value = initial;
  box.prompt = "dbt / Dagster selection syntax";
  let latest = 0;
  let valid = false;
  const validate = async (text: string) => {
    const ticket = ++latest;
    const languageClient = client.languageClient;
    if (!text.trim() || !languageClient) {
      valid = false;
      box.validationMessage = undefined;
      return;
    }
    const result = await languageClient.sendRequest(SelectRequest, { selection: text });
    if (ticket !== latest) return;
    const described = describeSelectResult(result);
    valid = described.ok;
    box.validationMessage = described.ok ? undefined : { message: described.message, severity: vscode.InputBoxValidationSeverity.Error };
    box.prompt = described.ok ? described.message : "dbt / Dagster selection syntax";
  };
  box.onDidChangeValue((text) => void validate(text));
  void validate(initial);
  return new Promise((resolve) => {
    box.onDidAccept(() => {
      if (!valid) return;
      resolve(box.value);
      box.hide();
    });
    box.onDidHide(() => {
      resolve(undefined);
      box.dispose();
    });
    box.show();
  });
}
