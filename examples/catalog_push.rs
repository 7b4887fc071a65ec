//! Catalog push, QAD → Amazon: QAD items become Amazon listings.
//!
//! ```sh
//! cargo run --example catalog_push                        # the built-in simulators
//! cargo run --example catalog_push -- --config my.toml    # your tenant and seller account
//! ```
//!
//! * The source is the QAD item master (a small `SourceSystem` over `QadSink::items`, below),
//!   limited to the items that have a seller SKU in the Amazon crosswalk (read backwards:
//!   item → SKU).
//! * The default mapper turns each item into a listing: product type, `item_name`,
//!   `condition_type`, and for merchant-fulfilled offers the QAD on-hand as quantity.
//! * First a preview: the listings are printed and the seller's marketplace participation is
//!   checked. Then the Listings sink writes them; before the first write of each SKU it sends
//!   the same request with `mode=VALIDATION_PREVIEW`, so an invalid listing is refused with
//!   Amazon's issues before anything is submitted.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt;
use futures::stream::{self, BoxStream, StreamExt};
use ml_connector::amazon::{AmazonListingsSink, SpApiClient};
use ml_connector::config::Channel;
use ml_connector::core::{Cursor, Page};
use ml_connector::mapping::{DefaultMapper, OnHand};
use ml_connector::model::{ErpDocument, Product, RecordBody, RecordKey, SourceRecord, SystemId};
use ml_connector::pipeline::Pipeline;
use ml_connector::qad::{QadItem, QadSink};
use ml_connector::{ErpSink, Mapper, Result, SourceSystem};

const USAGE: &str = "\
catalog_push — QAD items to Amazon listings (validation preview first)

USAGE: cargo run --example catalog_push [-- OPTIONS]

OPTIONS:
  --config PATH   real systems (default: the built-in simulators)
  --preview       print the listings and stop";

/// QAD items as a source: stream `items`, one page per run (a snapshot), source id = item code.
struct QadItems {
    sink: Arc<QadSink>,
    only: HashSet<String>,
}

fn item_record(item: &QadItem) -> SourceRecord {
    let inactive = matches!(
        item.status
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref(),
        Some("INACTIVE" | "OBS" | "OBSOLETE")
    );
    SourceRecord {
        key: RecordKey::new(SystemId::Qad, "items", item.code.clone()),
        version: format!(
            "{}|{}",
            item.description,
            item.status.as_deref().unwrap_or("")
        ),
        updated_at: None,
        body: RecordBody::Product(Product {
            sku: item.code.clone(),
            name: Some(item.description.clone()),
            product_type: None,
            price: None,
            active: !inactive,
            uom: item.uom.clone(),
            barcodes: Vec::new(),
            attributes: serde_json::Value::Null,
        }),
        raw: serde_json::to_value(item).unwrap_or_default(),
    }
}

#[async_trait]
impl SourceSystem for QadItems {
    fn name(&self) -> &str {
        "qad"
    }

    fn streams(&self) -> Vec<String> {
        vec!["items".into()]
    }

    fn changes<'a>(
        &'a self,
        _stream: &'a str,
        _cursor: Option<Cursor>,
    ) -> BoxStream<'a, Result<Page>> {
        stream::once(async move {
            let items: Vec<QadItem> = self.sink.items().try_collect().await?;
            Ok(Page {
                records: items
                    .iter()
                    .filter(|i| self.only.contains(&i.code))
                    .map(item_record)
                    .collect(),
                cursor: None,
            })
        })
        .boxed()
    }

    async fn fetch(&self, _stream: &str, code: &str) -> Result<Option<SourceRecord>> {
        Ok(self.sink.item(code).await?.as_ref().map(item_record))
    }
}

#[tokio::main]
async fn main() {
    let args = common::Args::parse(USAGE, &[], &["--preview"]);
    common::init_tracing("warn");
    let target = common::exit_on_error(common::Target::open(&args, "catalog_push").await);
    common::exit_on_error(run(&target, args.flag("--preview")).await);
}

async fn run(target: &common::Target, preview_only: bool) -> Result<()> {
    let systems = &target.systems;
    let qad = common::qad_sink(systems).await?;
    let reference = &systems.reference;

    // Items with a seller SKU, and the on-hand that becomes the merchant quantity.
    let listed: HashSet<String> = reference
        .crosswalk_entries(Channel::Amazon)?
        .into_iter()
        .map(|(_, item)| item)
        .collect();
    let base = reference.context(Channel::Amazon)?;
    let on_hand = OnHand::new(qad.stock_levels(None, None).await?.into_iter().map(|l| {
        let location = (!l.location.is_empty()).then_some(l.location);
        ((l.item, l.site, location), l.on_hand)
    }));
    let ctx = base.to_builder().on_hand(on_hand).build()?;
    let source = Arc::new(QadItems {
        sink: qad,
        only: listed,
    });

    // Preview: what would be listed.
    let pages: Vec<Page> = source.changes("items", None).try_collect().await?;
    println!(
        "\n{:<12} {:<12} {:<10} {:>5}  title",
        "item", "seller SKU", "type", "qty"
    );
    for record in pages.iter().flat_map(|p| &p.records) {
        match DefaultMapper.map(record, &ctx) {
            Ok(docs) => {
                for d in docs {
                    if let ErpDocument::Listing(l) = d {
                        println!(
                            "{:<12} {:<12} {:<10} {:>5}  {}",
                            record.key.source_id,
                            l.sku,
                            l.product_type,
                            l.quantity.map(|q| q.to_string()).unwrap_or_default(),
                            l.attributes["item_name"][0]["value"].as_str().unwrap_or("")
                        );
                    }
                }
            }
            Err(e) => println!("{:<12} held: {e}", record.key.source_id),
        }
    }

    let client = Arc::new(SpApiClient::new(systems.require_amazon()?.clone())?);
    let listings = Arc::new(AmazonListingsSink::new(client));
    let caps = listings.connect().await?;
    println!("\nAmazon listings: {:?}", caps.entities);
    if preview_only {
        return Ok(());
    }

    let stores = systems.stores().await?;
    let pipeline = Pipeline::builder()
        .source(source)
        .mapper(Arc::new(DefaultMapper))
        .sink(listings)
        .stores(&stores)?
        .context(ctx)
        .concurrency(4)
        .build()?;
    let report = pipeline.run("items").await?;
    println!("\n{report}");
    if let Some(sandbox) = &target.sandbox {
        for sku in ["NX-TS-1001", "NX-HD-1200"] {
            let writes: Vec<String> = sandbox
                .amazon()
                .listing_writes(sku)
                .iter()
                .map(|w| {
                    format!(
                        "{}{} → {}",
                        w.method,
                        if w.preview {
                            " (VALIDATION_PREVIEW)"
                        } else {
                            ""
                        },
                        w.status
                    )
                })
                .collect();
            println!("{sku}: {}", writes.join(", "));
        }
    }
    Ok(())
}
