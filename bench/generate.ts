/**
 * Synthetic workspaces for benchmarks: a dbt project with N models written the way real projects
 * write them (configs, if/for blocks, macros that call ref, sources, vars) and M TypeScript asset
 * files importing each other.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { prng } from "./prng";

export interface GeneratedWorkspace {
  root: string;
  models: number;
  tsFiles: number;
  /** A model file in the middle of the graph, for edit and hover measurements. */
  sampleModel: string;
  sampleRefName: string;
}


export interface GenerateOptions {
  /**
   * Document every other model the way well-kept projects do: a `_models.yml` per folder with a
   * description, config and four columns with descriptions and tests (about 12 YAML lines per model).
   */
  documented?: boolean;
}

export function generateWorkspace(root: string, models = 5000, tsFiles = 500, options: GenerateOptions = {}): GeneratedWorkspace {
  const random = prng(42);
  const pick = (n: number) => Math.floor(random() * n);
  const w = (rel: string, text: string) => {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  w(
    "dbt_project.yml",
    `name: bench\nversion: "1.0.0"\nconfig-version: 2\nprofile: bench\nmodel-paths: ["models"]\nmacro-paths: ["macros"]\nvars:\n  upstream_model: model_0\n  start_date: "2020-01-01"\nmodels:\n  bench:\n    +materialized: view\n    marts:\n      +materialized: table\n`,
  );
  w(
    "macros/helpers.sql",
    `{% macro latest_from(model_name) %}\n  (select * from {{ ref('model_0') }} where updated_at > '{{ var("start_date") }}')\n{% endmacro %}\n\n{% macro cents_to_dollars(col) -%}\n  round({{ col }} / 100.0, 2)\n{%- endmacro %}\n`,
  );
  const sources = 20;
  let yaml = "version: 2\n\nsources:\n";
  for (let s = 0; s < sources; s++) {
    yaml += `  - name: src_${s}\n    schema: "{{ target.schema }}_raw"\n    tables:\n`;
    for (let t = 0; t < 10; t++) yaml += `      - name: table_${t}\n        identifier: t_${s}_${t}\n`;
  }
  w("models/sources.yml", yaml);
  const layers = ["staging", "intermediate", "marts"];
  let props = "version: 2\n\nmodels:\n";
  const folderProps = new Map<string, string>();
  for (let i = 0; i < models; i++) {
    const layer = layers[Math.min(2, Math.floor((i / models) * 3))];
    const refs = new Set<number>();
    if (i > 0) for (let k = 0; k < 1 + pick(3); k++) refs.add(Math.max(0, i - 1 - pick(Math.min(i, 200))));
    const refList = [...refs];
    const text = [
      `{{ config(materialized='${i % 7 === 0 ? "incremental" : "table"}', tags=['${layer}', 'bench'], unique_key='id') }}`,
      "",
      `{%- set columns = ['a', 'b', 'c'] -%}`,
      "",
      "with",
      ...refList.map((r, k) => `upstream_${k} as (\n    select * from {{ ref('model_${r}') }}\n),`),
      i % 5 === 0 ? `raw as (\n    select * from {{ source('src_${pick(sources)}', 'table_${pick(10)}') }}\n),` : "",
      i % 11 === 0 ? `latest as {{ latest_from('x') }},` : "",
      "final as (",
      "    select",
      "        id,",
      "        {% for col in columns %}",
      "        {{ col }}{% if not loop.last %},{% endif %}",
      "        {% endfor %}",
      `        , {{ cents_to_dollars('amount') }} as amount`,
      `    from ${refList.length ? "upstream_0" : "raw_data"}`,
      "    {% if is_incremental() %}",
      "    where updated_at > (select max(updated_at) from {{ this }})",
      "    {% endif %}",
      ")",
      "",
      "-- " + "padding comment to reach a realistic file size ".repeat(8),
      "select * from final",
      "",
    ].join("\n");
    const folder = `models/${layer}/group_${i % 50}`;
    w(`${folder}/model_${i}.sql`, text);
    if (options.documented) {
      if (i % 2 === 0) folderProps.set(folder, (folderProps.get(folder) ?? "version: 2\n\nmodels:\n") + documentedModel(i));
    } else if (i % 10 === 0) {
      props += `  - name: model_${i}\n    description: "Model ${i} of the ${layer} layer."\n    config:\n      tags: ['documented']\n`;
    }
  }
  if (options.documented) for (const [folder, text] of folderProps) w(`${folder}/_models.yml`, text);
  else w("models/schema.yml", props);
  for (let f = 0; f < tsFiles; f++) {
    const imports = f > 0 ? `import { asset_${f - 1}_0 } from "./file_${f - 1}";\n` : "";
    const body = [0, 1].map((a) => {
      const deps = [`"model_${pick(models)}"`, f > 0 && a === 0 ? `asset_${f - 1}_0` : `["src_${pick(sources)}", "table_${pick(10)}"]`];
      return `/** Asset ${a} of file ${f}. */\nexport const asset_${f}_${a} = asset(\n  { key: ["ts", "file_${f}", "a${a}"], deps: [${deps.join(", ")}], group: "g${f % 10}", tags: ["bench"] },\n  async (inputs, ctx) => {\n    ctx.log.info("computing");\n    const rows = Object.values(inputs).flat();\n    return rows.slice(0, 10);\n  },\n);\n`;
    });
    w(`assets/file_${f}.ts`, `import { asset } from "tributary-assets";\n${imports}\n${body.join("\n")}`);
  }
  const middle = Math.floor(models / 2);
  return { root, models, tsFiles, sampleModel: path.join(root, `models/${layers[Math.min(2, Math.floor((middle / models) * 3))]}/group_${middle % 50}/model_${middle}.sql`), sampleRefName: `model_${middle}` };
}

function documentedModel(i: number): string {
  const columns = ["id", "a", "b", "amount"].map(
    (c) => `      - name: ${c}\n        description: "The ${c} of the order, as the source system writes it."\n        data_tests:\n          - not_null\n          - unique\n`,
  );
  return `  - name: model_${i}\n    description: "Model ${i}: one row per order, with the customer and the amounts."\n    config:\n      tags: ['documented']\n    columns:\n${columns.join("")}`;
}
