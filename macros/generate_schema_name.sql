{#- The layer schemas as dbt_project.yml names them (staging, intermediate, reports,
    audit, reference): a node's custom schema as it is, not dbt's default
    `<target schema>_<custom schema>`; a node without one lands in the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
