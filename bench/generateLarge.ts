/**
 * A generated workspace shaped like the largest public dbt repositories (a multi-project
 * repository with ~7,400 models in 5 dbt projects): projects under `dbt_subprojects/` that share a
 * root `sources/` folder (10,000+ source tables in YAML, column lists shared through anchors) and
 * a root `dbt_macros/` folder (a `ref` override, macros wrapping `source` over lists of dicts), every
 * model documented in property files with columns and tests, models reading other projects'
 * outputs through sources.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { prng } from "./prng";

export interface LargeWorkspace {
  root: string;
  projects: number;
  models: number;
  sourceTables: number;
}

export function generateLargeWorkspace(root: string, projects = 5, modelsPerProject = 1480, sourceTables = 10500): LargeWorkspace {
  const random = prng(7);
  const pick = (n: number) => Math.floor(random() * n);
  const w = (rel: string, text: string) => {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };

  // Shared macros: dbt's ref overridden (as large projects do to add checks), source wrapped in loops.
  w(
    "dbt_macros/ref.sql",
    "{% macro ref(modelname) %}\n  {% set rel = builtins.ref(modelname) %}\n  {{ return(rel) }}\n{% endmacro %}\n",
  );
  w(
    "dbt_macros/union_chains.sql",
    `{% macro union_chains(namespace, table, chains) %}
  {% for chain in chains %}
  select '{{ chain }}' as blockchain, * from {{ source(namespace ~ '_' ~ chain, table) }}
  {% if not loop.last %}union all{% endif %}
  {% endfor %}
{% endmacro %}

{% macro incremental_predicate(col) -%}
  {{ col }} >= date_trunc('day', now() - interval '{{ var('DBT_ENV_INCREMENTAL_TIME', '1') }}' day)
{%- endmacro %}
`,
  );

  // Sources: namespaces per chain, ~30 tables each, one YAML file per namespace, shared column anchors.
  const chains = ["ethereum", "arbitrum", "optimism", "base", "polygon", "bnb", "avalanche_c", "gnosis"];
  const tablesPerSource = 30;
  const namespaces = Math.ceil(sourceTables / tablesPerSource / chains.length);
  let tables = 0;
  for (let n = 0; n < namespaces; n++) {
    for (const chain of chains) {
      let yaml = `version: 2\n\nsources:\n  - name: proto_${n}_${chain}\n    description: "Decoded events of protocol ${n} on ${chain}."\n    tables:\n`;
      for (let t = 0; t < tablesPerSource && tables < sourceTables; t++, tables++) {
        yaml += `      - name: Pool_evt_${t}\n        description: "Event ${t}."\n        loaded_at_field: evt_block_time\n`;
        yaml += t === 0
          ? "        columns:\n          - &contract_address\n            name: contract_address\n            description: \"Contract address\"\n          - &evt_tx_hash\n            name: evt_tx_hash\n            description: \"Transaction hash\"\n          - &evt_block_time\n            name: evt_block_time\n            data_tests: [not_null]\n"
          : "        columns:\n          - *contract_address\n          - *evt_tx_hash\n          - *evt_block_time\n";
      }
      w(`sources/proto_${n}/${chain}/proto_${n}_${chain}_sources.yml`, yaml);
    }
  }

  const names = Array.from({ length: projects }, (_, p) => `project_${p}`);
  let models = 0;
  for (let p = 0; p < projects; p++) {
    const name = names[p];
    const dir = `dbt_subprojects/${name}`;
    w(
      `${dir}/dbt_project.yml`,
      `name: "${name}"\nversion: "1.0.0"\nconfig-version: 2\nprofile: "bench"\nmodel-paths: ["models", "../../sources"]\nmacro-paths: ["macros", "../../dbt_macros"]\nvars:\n  DBT_ENV_INCREMENTAL_TIME: "{{ env_var('DBT_ENV_INCREMENTAL_TIME', '3') }}"\nmodels:\n  ${name}:\n    +materialized: view\n    _sector:\n      +materialized: incremental\n`,
    );
    w(`${dir}/packages.yml`, "packages: []\n");
    // Other projects' outputs are sources here (the shape of `sources/_subprojects_outputs`).
    if (p > 0) {
      let yaml = `version: 2\n\nsources:\n  - name: ${names[p - 1]}_outputs\n    tables:\n`;
      for (let m = 0; m < 20; m++) yaml += `      - name: ${names[p - 1]}_model_${m}\n`;
      w(`${dir}/models/_outputs_sources.yml`, yaml);
    }
    const folders = 40;
    for (let f = 0; f < folders; f++) {
      const folder = `${dir}/models/_sector/sector_${f}`;
      let props = "version: 2\n\nmodels:\n";
      const perFolder = Math.ceil(modelsPerProject / folders);
      for (let k = 0; k < perFolder && models < (p + 1) * modelsPerProject; k++, models++) {
        const i = f * perFolder + k;
        const model = `${name}_model_${i}`;
        const body: string[] = [
          `{{ config(schema='sector_${f}', alias='m_${i}', materialized='incremental', unique_key=['tx_hash', 'evt_index'], incremental_predicates=[incremental_predicate('DBT_INTERNAL_DEST.block_time')]) }}`,
        ];
        if (i % 5 === 0) {
          const n = pick(namespaces);
          body.push(`{{ union_chains('proto_${n}', 'Pool_evt_${pick(tablesPerSource)}', ${JSON.stringify(chains.slice(0, 3 + pick(5))).replace(/"/g, "'")}) }}`);
        } else if (i % 5 === 1) {
          body.push(
            `{% set config_sources = [\n  {'chain': 'ethereum', 'table': 'Pool_evt_1'},\n  {'chain': 'arbitrum', 'table': 'Pool_evt_2'},\n] %}`,
            `{% for src in config_sources %}\nselect * from {{ source('proto_${pick(namespaces)}_' ~ src['chain'], src['table']) }}\n{% if is_incremental() %}where {{ incremental_predicate('evt_block_time') }}{% endif %}\n{% if not loop.last %}union all{% endif %}\n{% endfor %}`,
          );
        } else if (p > 0 && i % 5 === 2) {
          body.push(`select * from {{ source('${names[p - 1]}_outputs', '${names[p - 1]}_model_${pick(20)}') }}`);
        } else if (i > 0) {
          const refs = new Set<number>();
          for (let r = 0; r < 1 + pick(3); r++) refs.add(Math.max(0, i - 1 - pick(Math.min(i, 100))));
          body.push(`with ${[...refs].map((r) => `m${r} as (select * from {{ ref('${name}_model_${r}') }})`).join(",\n")}`, "select * from m" + [...refs][0]);
        } else {
          body.push(`select * from {{ source('proto_0_ethereum', 'Pool_evt_0') }}`);
        }
        w(`${folder}/${model}.sql`, body.join("\n") + "\n");
        props += `  - name: ${model}\n    description: "Model ${i} of sector ${f}."\n    meta:\n      blockchain: ethereum\n      sector: sector_${f}\n    config:\n      tags: ['sector_${f}']\n    data_tests:\n      - dbt_utils.unique_combination_of_columns:\n          combination_of_columns: [tx_hash, evt_index]\n    columns:\n      - &tx_hash\n        name: tx_hash\n        description: "Transaction hash"\n        data_tests: [not_null]\n      - name: evt_index\n        description: "Event index"\n      - name: amount_usd\n        description: "Amount in USD"\n`;
      }
      w(`${folder}/_schema.yml`, props);
    }
  }
  return { root, projects, models, sourceTables: tables };
}
