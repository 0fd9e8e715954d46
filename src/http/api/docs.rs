//! A readable API reference rendered on the server from the OpenAPI document: no CDN, no
//! script, nothing that weakens the Content-Security-Policy.

use askama::Template;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Operation {
    pub method: String,
    pub path: String,
    pub id: String,
    pub summary: String,
    pub description: String,
    pub request_schema: Option<String>,
    pub responses: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
pub struct DocsPage {
    pub title: String,
    pub version: String,
    pub description: String,
    pub operations: Vec<Operation>,
}

fn schema_name(v: &Value) -> Option<String> {
    let schema = v
        .pointer("/content/application~1json; charset=utf-8/schema")
        .or_else(|| v.pointer("/content/application~1json/schema"))?;
    let reference = schema.get("$ref").and_then(Value::as_str)?;
    Some(
        reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string(),
    )
}

pub fn page(spec: &Value) -> DocsPage {
    let mut operations = Vec::new();
    if let Some(paths) = spec["paths"].as_object() {
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                let mut responses: Vec<(String, String)> = op["responses"]
                    .as_object()
                    .map(|r| {
                        r.iter()
                            .map(|(code, resp)| {
                                (
                                    code.clone(),
                                    resp["description"].as_str().unwrap_or("").to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                responses.sort();
                operations.push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    id: op["operationId"].as_str().unwrap_or("").to_string(),
                    summary: op["summary"].as_str().unwrap_or("").to_string(),
                    description: op["description"].as_str().unwrap_or("").to_string(),
                    request_schema: op.get("requestBody").and_then(schema_name),
                    responses,
                });
            }
        }
    }
    DocsPage {
        title: spec
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("API")
            .to_string(),
        version: spec
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        description: spec
            .pointer("/info/description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        operations,
    }
}
