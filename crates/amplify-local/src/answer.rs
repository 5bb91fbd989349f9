//! Answers as AWS rest-json services give them, shared by every service it plays: the error
//! shape (`x-amzn-ErrorType`, `{"message": ...}`), the model's validation texts, a JSON-object
//! body, and paging (`maxResults`, `nextToken`).

use serde_json::{Value, json};

use crate::http::{Request, Response};
use crate::sigv4;

/// A request body that must be a JSON object, or the `SerializationException` AWS answers.
pub(crate) fn json_object(body: &[u8]) -> Result<Value, Response> {
    match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(aws_error(
            400,
            "SerializationException",
            "Request body is not a JSON object",
        )),
    }
}

/// An error answered the way AWS rest-json services answer it.
pub fn aws_error(status: u16, code: &str, message: &str) -> Response {
    Response::json(status, &json!({ "message": message })).header(
        "x-amzn-ErrorType",
        format!("{code}:http://internal.amazon.com/coral/com.amazonaws.amplify/"),
    )
}

/// The page size when `maxResults` is absent or 0.
pub(crate) const DEFAULT_PAGE: usize = 50;

/// A list operation's `maxResults` (0 to 50, as the model says; 0 and absent give 50, so a token
/// always advances) and `nextToken`, as the query carries them.
pub(crate) fn paging(req: &Request) -> Result<(usize, Option<String>), Response> {
    let (mut max, mut token) = (DEFAULT_PAGE, None);
    for pair in req.raw_query().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = sigv4::percent_decode(v);
        match k {
            "maxResults" => match v.parse::<usize>() {
                Ok(0) => max = DEFAULT_PAGE,
                Ok(n) if n <= 50 => max = n,
                _ => {
                    return Err(constraint(
                        &v,
                        "maxResults",
                        "Member must have value less than or equal to 50",
                    ));
                }
            },
            "nextToken" => token = Some(v),
            _ => {}
        }
    }
    Ok((max, token))
}

/// The offset a `nextToken` of the form `<prefix>-<offset>` resumes at.
pub(crate) fn offset_token(token: Option<&str>, prefix: &str) -> Result<usize, Response> {
    match token {
        None => Ok(0),
        Some(t) => t
            .strip_prefix(prefix)
            .and_then(|n| n.strip_prefix('-'))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad_request(format!("Invalid nextToken: {t}"))),
    }
}

pub(crate) fn bad_request(msg: String) -> Response {
    aws_error(400, "BadRequestException", &msg)
}

pub(crate) fn constraint(value: &str, member: &str, what: &str) -> Response {
    bad_request(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {what}"
    ))
}
