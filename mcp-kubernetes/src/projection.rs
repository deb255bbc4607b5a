//! Field masks: parse API objects straight from the response text into a `serde_json::Value`
//! that holds only the fields an operation reads.
//!
//! A pod parsed in full is a tree of small maps and strings roughly ten times the size of its
//! JSON, and most of it (`managedFields`, env, volumes, probes, a node's image list) is never
//! read by, say, `workload_health`. A [`Mask`] names the fields to keep; everything else is
//! skipped by the parser without being allocated. The kept fields are exactly what a full parse
//! gives, so code reading them through JSON pointers behaves the same.

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Which parts of a JSON value to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mask {
    /// The whole value.
    All,
    /// Of an object, only these keys, each with its own mask (other keys are skipped); of an
    /// array, every element under this mask; a scalar is kept as it is.
    Fields(&'static [(&'static str, Mask)]),
}

impl Mask {
    /// An object's identifying metadata: `metadata.name` and `metadata.namespace`.
    pub const META: (&'static str, Mask) = (
        "metadata",
        Mask::Fields(&[("name", Mask::All), ("namespace", Mask::All)]),
    );

    /// Parses `text`, a JSON value, keeping what the mask names.
    pub fn parse(self, text: &str) -> serde_json::Result<Value> {
        let mut de = serde_json::Deserializer::from_str(text);
        let v = self.deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }

    /// Parses a Kubernetes list (`{"metadata": {"continue": …}, "items": […]}`), keeping the
    /// masked part of every item; returns the items and the continue token.
    pub fn parse_list(self, text: &str) -> serde_json::Result<(Vec<Value>, Option<String>)> {
        let mut de = serde_json::Deserializer::from_str(text);
        let list = ListSeed(self).deserialize(&mut de)?;
        de.end()?;
        Ok(list)
    }
}

impl<'de> DeserializeSeed<'de> for Mask {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self {
            Mask::All => serde::Deserialize::deserialize(d),
            Mask::Fields(fields) => d.deserialize_any(Masked(fields)),
        }
    }
}

/// The visitor behind [`Mask::Fields`]; scalars are built the way `serde_json::Value` builds them.
struct Masked(&'static [(&'static str, Mask)]);

impl<'de> Visitor<'de> for Masked {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Mask::Fields(self.0))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(KeySeed(self.0))? {
            match key {
                Some((name, mask)) => {
                    let v = map.next_value_seed(mask)?;
                    out.insert(name.to_string(), v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// Looks an object key up in the mask without allocating it: `None` for keys to skip.
struct KeySeed(&'static [(&'static str, Mask)]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Option<(&'static str, Mask)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Option<(&'static str, Mask)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().find(|(k, _)| *k == v).copied())
    }
}

/// A list document: its `items` under the mask and `metadata.continue`.
struct ListSeed(Mask);

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = (Vec<Value>, Option<String>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListSeed {
    type Value = (Vec<Value>, Option<String>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes list object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        const LIST: &[(&str, Mask)] = &[("items", Mask::All), ("metadata", Mask::All)];
        let (mut items, mut token) = (Vec::new(), None);
        while let Some(key) = map.next_key_seed(KeySeed(LIST))? {
            match key {
                Some(("items", _)) => items = map.next_value_seed(ItemsSeed(self.0))?,
                Some(_) => {
                    let meta: ListMeta = map.next_value()?;
                    token = meta.continue_.filter(|c| !c.is_empty());
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((items, token))
    }
}

#[derive(serde::Deserialize)]
struct ListMeta {
    #[serde(default, rename = "continue")]
    continue_: Option<String>,
}

/// `items`: an array of objects under the mask (`null` reads as empty, as in `kube`).
struct ItemsSeed(Mask);

impl<'de> DeserializeSeed<'de> for ItemsSeed {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self.0)? {
            out.push(v);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    const POD: Mask = Mask::Fields(&[
        (
            "metadata",
            Mask::Fields(&[("name", Mask::All), ("labels", Mask::All)]),
        ),
        (
            "spec",
            Mask::Fields(&[(
                "containers",
                Mask::Fields(&[("name", Mask::All), ("image", Mask::All)]),
            )]),
        ),
        ("status", Mask::All),
    ]);

    #[test]
    fn keeps_only_the_masked_fields_exactly() {
        let text = r#"{"apiVersion":"v1","kind":"Pod",
            "metadata":{"name":"web-1","labels":{"app":"web","a/b":"c"},"managedFields":[{"x":1}],"uid":"u"},
            "spec":{"containers":[{"name":"web","image":"i:1","env":[{"name":"P","value":"hunter2"}]},
                                  {"name":"side","image":"s:2","ports":[1,2]}],"volumes":[{"name":"v"}]},
            "status":{"phase":"Running","restartCount":3,"ratio":0.5,"big":18446744073709551615,"neg":-4,
                      "n":null,"ok":true,"esc":"a\"b\u00e9"}}"#;
        let got = POD.parse(text).unwrap();
        let full: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            got,
            json!({
                "metadata": {"name": "web-1", "labels": {"app": "web", "a/b": "c"}},
                "spec": {"containers": [{"name": "web", "image": "i:1"}, {"name": "side", "image": "s:2"}]},
                "status": full["status"].clone(),
            })
        );
        assert!(!got.to_string().contains("hunter2"));
    }

    #[test]
    fn scalars_where_objects_are_expected_are_kept() {
        let got = POD
            .parse(r#"{"metadata":"odd","spec":[1,{"containers":3}]}"#)
            .unwrap();
        assert_eq!(
            got,
            json!({"metadata": "odd", "spec": [1, {"containers": 3}]})
        );
    }

    #[test]
    fn lists_give_items_and_the_continue_token() {
        let text = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"50"},
            "items":[{"metadata":{"name":"a","uid":"1"}},{"metadata":{"name":"b"}}]}"#;
        let (items, token) = Mask::Fields(&[Mask::META]).parse_list(text).unwrap();
        assert_eq!(
            items,
            vec![
                json!({"metadata": {"name": "a"}}),
                json!({"metadata": {"name": "b"}})
            ]
        );
        assert_eq!(token.as_deref(), Some("50"));
        let (items, token) = Mask::All
            .parse_list(r#"{"items":null,"metadata":{"continue":""}}"#)
            .unwrap();
        assert!(items.is_empty() && token.is_none());
        assert!(Mask::All.parse_list(r#"{"items":[1]} x"#).is_err());
    }
}
