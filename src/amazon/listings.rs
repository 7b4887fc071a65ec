//! [`AmazonListingsSink`]: Listings Items 2021-08-01 as the destination of the catalog push
//! (QAD items → Amazon listings), behind the [`ErpSink`] trait.
//!
//! * A [`ListingDoc`] with attributes is written with `putListingsItem` (the full listing, with
//!   the offer price and merchant quantity folded into `purchasable_offer` and
//!   `fulfillment_availability`); a document with only a price and/or quantity is a
//!   `patchListingsItem` of `/attributes/purchasable_offer` and
//!   `/attributes/fulfillment_availability`.
//! * Before the first real write of a SKU (in this process), the same request is sent with
//!   `mode=VALIDATION_PREVIEW`; an `INVALID` preview stops there.
//! * `INVALID` answers become [`Error::Rejected`] with Amazon's issues for that SKU; `ACCEPTED`
//!   answers become a [`Receipt`] whose warnings are the non-error issues. `ACCEPTED` means
//!   queued for processing: later issues show up in [`ErpSink::find`] (`getListingsItem` with
//!   `issues`).
//! * SKUs are percent-encoded in the path.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::client::{Parsed, SpApiClient};
use super::wire::{
    ListingIssue, ListingsItemPatchRequest, ListingsItemPutRequest, ListingsItemSubmissionResponse,
    PatchOperation,
};
use crate::core::{Capabilities, EntityAccess, ErpSink, Receipt};
use crate::error::{Context, Error, Issue, Result};
use crate::model::{DocumentKind, ErpDocument, ListingDoc};

/// The listings destination of one seller in one region.
#[derive(Debug)]
pub struct AmazonListingsSink {
    client: Arc<SpApiClient>,
    validated: Mutex<HashSet<(String, String)>>,
}

enum Write {
    Put(ListingsItemPutRequest),
    Patch(ListingsItemPatchRequest),
}

impl Write {
    fn body(&self) -> Value {
        match self {
            Write::Put(b) => serde_json::to_value(b).unwrap_or_default(),
            Write::Patch(b) => serde_json::to_value(b).unwrap_or_default(),
        }
    }
    fn op(&self) -> &'static str {
        match self {
            Write::Put(_) => super::limits::PUT_LISTINGS_ITEM,
            Write::Patch(_) => super::limits::PATCH_LISTINGS_ITEM,
        }
    }
}

fn record(doc: &ListingDoc) -> String {
    format!("amazon/listings/{}:{}", doc.marketplace_id, doc.sku)
}

fn issue(i: &ListingIssue) -> Issue {
    Issue {
        field: (!i.attribute_names.is_empty()).then(|| i.attribute_names.join(",")),
        code: i.code.clone(),
        message: i.message.clone().unwrap_or_default(),
        severity: i.severity.clone(),
    }
}

fn offer_value(doc: &ListingDoc) -> Option<Value> {
    doc.price.as_ref().map(|p| {
        json!([{"marketplace_id": doc.marketplace_id, "currency": p.currency.as_str(),
            "our_price": [{"schedule": [{"value_with_tax": p.amount.to_string()}]}]}])
    })
}

fn quantity_value(doc: &ListingDoc) -> Result<Option<Value>> {
    let Some(q) = doc.quantity else {
        return Ok(None);
    };
    if q.is_sign_negative() || !q.fract().is_zero() {
        return Err(Error::data(
            record(doc),
            format!("merchant quantity {q} is not a whole number ≥ 0"),
            "push whole units; round the on-hand quantity down before mapping",
        ));
    }
    let n: i64 = q.trunc().to_string().parse().unwrap_or(0);
    Ok(Some(
        json!([{"fulfillment_channel_code": "DEFAULT", "quantity": n,
        "marketplace_id": doc.marketplace_id}]),
    ))
}

impl AmazonListingsSink {
    /// A sink sharing `client` (and its rate buckets) with the source.
    pub fn new(client: Arc<SpApiClient>) -> Self {
        Self {
            client,
            validated: Mutex::new(HashSet::new()),
        }
    }

    fn listing<'d>(&self, doc: &'d ErpDocument) -> Result<&'d ListingDoc> {
        match doc {
            ErpDocument::Listing(l) => Ok(l),
            other => Err(Error::Unsupported {
                ctx: Context::op("amazon-listings.post").into(),
                message: format!(
                    "the Amazon listings sink writes listings only, not {} documents",
                    other.kind()
                ),
            }),
        }
    }

    fn write_for(&self, doc: &ListingDoc) -> Result<Write> {
        let has_attributes = doc.attributes.as_object().is_some_and(|o| !o.is_empty());
        let offer = offer_value(doc);
        let quantity = quantity_value(doc)?;
        if has_attributes {
            let mut attributes = doc.attributes.clone();
            if let Some(o) = offer {
                attributes["purchasable_offer"] = o;
            }
            if let Some(q) = quantity {
                attributes["fulfillment_availability"] = q;
            }
            return Ok(Write::Put(ListingsItemPutRequest {
                product_type: doc.product_type.clone(),
                requirements: Some("LISTING".into()),
                attributes,
            }));
        }
        let mut patches = Vec::new();
        if let Some(o) = offer {
            patches.push(PatchOperation {
                op: "replace".into(),
                path: "/attributes/purchasable_offer".into(),
                value: Some(o),
            });
        }
        if let Some(q) = quantity {
            patches.push(PatchOperation {
                op: "replace".into(),
                path: "/attributes/fulfillment_availability".into(),
                value: Some(q),
            });
        }
        if patches.is_empty() {
            return Err(Error::data(
                record(doc),
                "the listing document has no attributes, price or quantity to write",
                "map at least the quantity or the listing attributes",
            ));
        }
        Ok(Write::Patch(ListingsItemPatchRequest {
            product_type: doc.product_type.clone(),
            patches,
        }))
    }

    async fn send(
        &self,
        doc: &ListingDoc,
        write: &Write,
        preview: bool,
    ) -> Result<Parsed<ListingsItemSubmissionResponse>> {
        match write {
            Write::Put(b) => {
                self.client
                    .put_listings_item(&doc.sku, &doc.marketplace_id, b, preview)
                    .await
            }
            Write::Patch(b) => {
                self.client
                    .patch_listings_item(&doc.sku, &doc.marketplace_id, b, preview)
                    .await
            }
        }
    }

    fn check(
        &self,
        doc: &ListingDoc,
        write: &Write,
        p: &Parsed<ListingsItemSubmissionResponse>,
        preview: bool,
    ) -> Result<()> {
        if p.value.status == "INVALID" {
            let stage = if preview {
                "validation preview"
            } else {
                "submission"
            };
            return Err(Error::Rejected {
                ctx: Context {
                    op: format!("amazon.{}", write.op()),
                    status: Some(p.response.status.as_u16()),
                    request_id: p.response.request_id.clone(),
                    record: Some(record(doc)),
                }
                .into(),
                message: format!(
                    "Amazon refused SKU {} in {} ({stage}); fix the listing attributes and push again",
                    doc.sku, doc.marketplace_id
                ),
                issues: p.value.issues.iter().map(issue).collect(),
            });
        }
        Ok(())
    }

    /// Writes a listing document; see the module docs.
    ///
    /// # Errors
    /// [`Error::Rejected`] with Amazon's issues when the preview or the submission is `INVALID`;
    /// kernel errors otherwise.
    pub async fn write(&self, doc: &ListingDoc) -> Result<Receipt> {
        let write = self.write_for(doc)?;
        let key = (doc.marketplace_id.clone(), doc.sku.clone());
        let first = !self
            .validated
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key);
        let mut exchanges = Vec::new();
        if first {
            let preview = self.send(doc, &write, true).await?;
            exchanges.push(json!({"mode": "VALIDATION_PREVIEW", "response": preview.raw}));
            self.check(doc, &write, &preview, true)?;
            self.validated
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key);
        }
        let p = self.send(doc, &write, false).await?;
        exchanges.push(json!({"mode": "write", "response": p.raw}));
        self.check(doc, &write, &p, false)?;
        Ok(Receipt {
            erp_key: format!("{}:{}", doc.marketplace_id, doc.sku),
            uri: None,
            warnings: p
                .value
                .issues
                .iter()
                .filter(|i| i.severity.as_deref() != Some("ERROR"))
                .map(issue)
                .collect(),
            request: Some(json!({"operation": write.op(), "sku": doc.sku,
                "marketplaceId": doc.marketplace_id, "body": write.body()})),
            response: Some(Value::Array(exchanges)),
        })
    }
}

#[async_trait]
impl ErpSink for AmazonListingsSink {
    fn name(&self) -> &str {
        "amazon-listings"
    }

    async fn connect(&self) -> Result<Capabilities> {
        let mut entities = BTreeMap::new();
        let access = match self.client.get_marketplace_participations().await {
            Ok(p) => {
                let participating: HashSet<&str> = p
                    .payload
                    .iter()
                    .filter(|x| x.participation.is_participating)
                    .map(|x| x.marketplace.id.as_str())
                    .collect();
                let missing: Vec<&String> = self
                    .client
                    .config()
                    .marketplace_ids
                    .iter()
                    .filter(|m| !participating.contains(m.as_str()))
                    .collect();
                if missing.is_empty() {
                    EntityAccess::Available
                } else {
                    EntityAccess::Unavailable(format!(
                        "the seller does not participate in {missing:?}; remove them from amazon.marketplace_ids"
                    ))
                }
            }
            Err(Error::PermissionDenied { message, .. }) => EntityAccess::Forbidden(message),
            Err(e) => return Err(e),
        };
        entities.insert(DocumentKind::Listing, access);
        Ok(Capabilities { entities })
    }

    async fn find(&self, doc: &ErpDocument) -> Result<Option<Receipt>> {
        let l = self.listing(doc)?;
        let found = self
            .client
            .get_listings_item(
                &l.sku,
                &l.marketplace_id,
                &["summaries", "issues", "fulfillmentAvailability"],
            )
            .await?;
        Ok(found.map(|p| Receipt {
            erp_key: format!("{}:{}", l.marketplace_id, l.sku),
            uri: None,
            warnings: p.value.issues.iter().map(issue).collect(),
            request: None,
            response: Some(p.raw),
        }))
    }

    async fn post(&self, doc: &ErpDocument) -> Result<Receipt> {
        let l = self.listing(doc)?;
        self.write(l).await
    }
}
