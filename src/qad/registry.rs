//! The entity registry: which QAD business components, view URIs, browses and field names the
//! sink uses for each document kind.
//!
//! QAD publishes no REST reference and its own entities follow no derivable naming rule, so these
//! are **data**, not code. [`Registry::default`] holds the best-known names (each entry carries
//! an `evidence` note; docs/qad.md lists which rest on public evidence and which must be
//! confirmed per tenant). A tenant overrides any part with a TOML or JSON file that is merged
//! over the defaults key by key, so changing one component path is one line:
//!
//! ```toml
//! [receivable.component]
//! path = "api/erp/financials/customerInvoices"
//! ```
//!
//! Every path, view URI, browse id and field name is checked against a strict grammar before
//! any request is made (no `..`, no absolute URLs, no query strings): query parameters are only
//! ever built by the client from typed values. At connect time the sink then validates each
//! entry against the live instance (see [`QadSink::connect`](super::QadSink)).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The registry format version this crate reads.
pub const REGISTRY_VERSION: u32 = 1;

/// A business component (`api/erp/<plural>` + its view URI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDef {
    /// Path relative to the base URL: `api/erp/customerV2s`.
    pub path: String,
    /// The component's view URI: `urn:be:com.qad.base.customer.ICustomerV2`.
    pub view_uri: String,
    /// The envelope key of the record list: `customerV2s`.
    pub collection: String,
    /// Query parameters that key one record (`sharedSetCode`, `customerCode`), in URI order.
    pub key_params: Vec<String>,
}

/// A browse (`api/qracore/browses?browseId=…`) and the browse fields the sink reads or filters
/// on, by logical name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowseDef {
    /// Browse id: `urn:browse:mfg:cm007`.
    pub id: String,
    /// Logical name → browse field (`code` → `debtor.DebtorCode`).
    pub fields: BTreeMap<String, String>,
}

impl BrowseDef {
    /// The browse field for a logical name.
    pub fn field(&self, logical: &str) -> Option<&str> {
        self.fields.get(logical).map(String::as_str)
    }
}

/// The domain lookup used at connect time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainEntry {
    /// Browse over domains; logical fields: `code` (required), `entity` (optional).
    pub browse: BrowseDef,
}

/// The browse that lists another browse's fields, used at connect time to check that every
/// mapped browse field exists on the instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldLookupEntry {
    /// Use it (when off, or when it answers no rows, browses are checked by sampling a row).
    pub enabled: bool,
    /// Logical fields: `browse` (the browse URI filter), `field` (the field name column).
    pub browse: BrowseDef,
}

/// Customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerEntry {
    /// Write customers at all.
    pub enabled: bool,
    /// Where the names come from.
    pub evidence: String,
    /// `customerV2s`.
    pub component: ComponentDef,
    /// The per-domain record (`mfgCustomers`), patched after creation with site/daybook set.
    pub domain_extension: Option<ComponentDef>,
    /// Customer master browse; logical fields: `code` (required), `name`, `currency`, `active`.
    pub browse: BrowseDef,
}

/// Items (read for the SKU crosswalk; writes only when enabled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemEntry {
    /// Write items (no public create payload: off by default).
    pub enabled: bool,
    /// Where the names come from.
    pub evidence: String,
    /// `items` (keyed read; create when enabled).
    pub component: ComponentDef,
    /// Item master browse; logical fields: `code` (required), `description`, `description2`,
    /// `uom`, `status`.
    pub browse: BrowseDef,
}

/// The stateful line flow: initialize → fieldChange per field → commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineFlowDef {
    /// Envelope key of the line list: `salesOrderLines`.
    pub collection: String,
    /// The grid component: `GET …?initialize=true` gives a blank line, `GET` without it lists the
    /// committed lines, `POST` commits one line.
    pub grid_path: String,
    /// `POST …?fieldName=<f>&dataOperation=CREATE` validates one field and returns the defaulted
    /// line.
    pub field_change_path: String,
    /// The fields sent through fieldChange, in order (known to the sink: see
    /// [`LINE_FIELDS`]).
    pub field_order: Vec<String>,
    /// The line property holding the unit of measure; sent through fieldChange after the
    /// item when a line's unit differs from the one QAD defaulted.
    pub uom_field: String,
}

/// Sales-order line properties the sink can fill (`field_order` may list these only).
pub const LINE_FIELDS: [&str; 9] = [
    "itemCode",
    "siteCode",
    "quantityOrdered",
    "listPrice",
    "discountFormatted",
    "netPrice",
    "dueDate",
    "description",
    "isTaxable",
];

/// Unplanned receipt/issue detail properties the sink can fill (`field_order` may list these
/// only).
pub const UNPLANNED_FIELDS: [&str; 4] =
    ["itemCode", "transactionQuantity", "location", "lotSerial"];

/// Sales orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesOrderEntry {
    /// Write sales orders.
    pub enabled: bool,
    /// Where the names come from.
    pub evidence: String,
    /// `salesOrderHeaders`.
    pub component: ComponentDef,
    /// The line flow.
    pub lines: LineFlowDef,
    /// Header JSON property holding the customer PO (`so_po`).
    pub po_field: String,
    /// Header JSON property holding the external id (`so_rmks`).
    pub remarks_field: String,
    /// Sales order browse used by `find`; logical fields: `number`, `po`, `customer` (required),
    /// `domain`, `remarks`.
    pub browse: BrowseDef,
}

/// AR invoices or credit notes (Financials customer invoices, `DInvoice`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceEntry {
    /// Write this document kind.
    pub enabled: bool,
    /// Where the names come from.
    pub evidence: String,
    /// The component.
    pub component: ComponentDef,
    /// Value of the `invoiceType` property (`INVOICE`, `CREDITNOTE`).
    pub invoice_type: String,
    /// JSON property holding the external id (`DInvoiceDIText`).
    pub reference_field: String,
    /// Invoice browse used by `find`; logical fields: `reference` (required), `customer`,
    /// `voucher`, `type`.
    pub browse: BrowseDef,
}

/// GL journals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// Write journals.
    pub enabled: bool,
    /// Where the names come from.
    pub evidence: String,
    /// The component.
    pub component: ComponentDef,
    /// Envelope key of the posting lines.
    pub lines_collection: String,
    /// JSON property holding the external id.
    pub reference_field: String,
    /// Posting browse used by `find`; logical fields: `reference` (required), `voucher`,
    /// `entity`.
    pub browse: BrowseDef,
}

/// One unplanned receipt/issue flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnplannedDef {
    /// Use this flow.
    pub enabled: bool,
    /// The component (`GET` = template tree, `POST` = commit).
    pub component: ComponentDef,
    /// Envelope key of the detail list inside the header.
    pub detail_collection: String,
    /// Per-field validation (`validateAndAssignDefaultsLine`).
    pub validate_path: String,
    /// Fields validated, in order.
    pub field_order: Vec<String>,
    /// Detail JSON property holding the external id.
    pub reference_field: String,
}

/// Inventory adjustments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryAdjustmentEntry {
    /// Write adjustments.
    pub enabled: bool,
    /// Where the names come from.
    pub evidence: String,
    /// Positive adjustments (unplanned receipt).
    pub receipt: UnplannedDef,
    /// Negative adjustments (unplanned issue).
    pub issue: UnplannedDef,
    /// Inventory transaction browse used by `find`; logical fields: `reference` (required),
    /// `item`, `site`, `quantity`.
    pub browse: BrowseDef,
}

/// Stock levels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryLevelEntry {
    /// Where the names come from.
    pub evidence: String,
    /// Location-detail browse; logical fields: `site`, `location`, `item`, `quantity_on_hand`
    /// (required), `lot`, `reference`, `quantity_allocated`, `domain`.
    pub browse: BrowseDef,
}

/// The whole registry. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Format version (1).
    pub registry_version: u32,
    /// Domain lookup.
    pub domain: DomainEntry,
    /// Browse-field lookup.
    pub field_lookup: FieldLookupEntry,
    /// Customers.
    pub customer: CustomerEntry,
    /// Items.
    pub item: ItemEntry,
    /// Sales orders.
    pub sales_order: SalesOrderEntry,
    /// AR invoices.
    pub receivable: InvoiceEntry,
    /// Credit notes.
    pub credit_note: InvoiceEntry,
    /// GL journals.
    pub journal: JournalEntry,
    /// Inventory adjustments.
    pub inventory_adjustment: InventoryAdjustmentEntry,
    /// Stock levels.
    pub inventory_level: InventoryLevelEntry,
}

fn comp(path: &str, view_uri: &str, collection: &str, keys: &[&str]) -> ComponentDef {
    ComponentDef {
        path: path.into(),
        view_uri: view_uri.into(),
        collection: collection.into(),
        key_params: keys.iter().map(|s| (*s).to_string()).collect(),
    }
}

fn browse(id: &str, fields: &[(&str, &str)]) -> BrowseDef {
    BrowseDef {
        id: id.into(),
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

impl Default for Registry {
    /// The best-known names (reference qad.md §10.2; evidence per entry).
    fn default() -> Self {
        let invoice_component = comp(
            "api/erp/customerInvoices",
            "urn:be:com.qad.financials.customerinvoice.ICustomerInvoice",
            "customerInvoices",
            &["entityCode", "voucher"],
        );
        let invoice_browse = browse(
            "urn:browse:mfg:an001",
            &[
                ("reference", "dinvoice.DInvoiceDIText"),
                ("customer", "debtor.DebtorCode"),
                ("voucher", "dinvoice.DInvoiceVoucher"),
                ("type", "dinvoice.DInvoiceType"),
            ],
        );
        Registry {
            registry_version: REGISTRY_VERSION,
            domain: DomainEntry {
                browse: browse(
                    "urn:browse:bebrowse:com.qad.erp.base.domainV3s",
                    &[
                        ("code", "domainV3.domainCode"),
                        ("entity", "domainV3.entityCode"),
                    ],
                ),
            },
            field_lookup: FieldLookupEntry {
                enabled: true,
                browse: browse(
                    "urn:browse:custom:lookupBrowseFields",
                    &[("browse", "browseURI"), ("field", "field")],
                ),
            },
            customer: CustomerEntry {
                enabled: true,
                evidence: "component + domain extension: public loader code (OBS G9); browse id: browse catalogue (G5); browse field: INF".into(),
                component: comp(
                    "api/erp/customerV2s",
                    "urn:be:com.qad.base.customer.ICustomerV2",
                    "customerV2s",
                    &["sharedSetCode", "customerCode"],
                ),
                domain_extension: Some(comp(
                    "api/erp/mfgCustomers",
                    "urn:be:com.qad.base.customer.IMfgCustomer",
                    "mfgCustomers",
                    &["domainContext", "customerCode"],
                )),
                browse: browse(
                    "urn:browse:mfg:cm007",
                    &[
                        ("code", "debtor.DebtorCode"),
                        ("name", "businessRelation.BusinessRelationName1"),
                        ("currency", "currency.CurrencyCode"),
                        ("active", "debtor.DebtorIsActive"),
                    ],
                ),
            },
            item: ItemEntry {
                enabled: false,
                evidence: "keyed read OBS (G20); create payload not public (INF): enable only after a test create on the tenant".into(),
                component: comp(
                    "api/erp/items",
                    "urn:be:com.qad.base.item.IItem",
                    "items",
                    &["domainCode", "itemCode"],
                ),
                browse: browse(
                    "urn:browse:mfg:pt001",
                    &[
                        ("code", "pt_mstr.pt_part"),
                        ("description", "pt_mstr.pt_desc1"),
                        ("description2", "pt_mstr.pt_desc2"),
                        ("uom", "pt_mstr.pt_um"),
                        ("status", "pt_mstr.pt_status"),
                    ],
                ),
            },
            sales_order: SalesOrderEntry {
                enabled: true,
                evidence: "header + line flow: public loader code (OBS G10); customerPO/remarks property names INF; browse gp242 'Sales Order Master by PO' from the browse catalogue (G5), field names from so_mstr (D1)".into(),
                component: comp(
                    "api/erp/salesOrderHeaders",
                    "urn:be:com.qad.sales.salesorder.ISalesOrderHeader",
                    "salesOrderHeaders",
                    &["domainCode", "salesOrderNumber"],
                ),
                lines: LineFlowDef {
                    collection: "salesOrderLines".into(),
                    grid_path: "api/erp/salesOrderLinesGrid".into(),
                    field_change_path: "api/erp/salesOrderLines/fieldChange".into(),
                    field_order: strings(&[
                        "itemCode",
                        "siteCode",
                        "quantityOrdered",
                        "listPrice",
                        "discountFormatted",
                        "netPrice",
                        "dueDate",
                    ]),
                    uom_field: "unitOfMeasure".into(),
                },
                po_field: "customerPO".into(),
                remarks_field: "remarks".into(),
                browse: browse(
                    "urn:browse:mfg:gp242",
                    &[
                        ("number", "so_mstr.so_nbr"),
                        ("po", "so_mstr.so_po"),
                        ("customer", "so_mstr.so_cust"),
                        ("domain", "so_mstr.so_domain"),
                        ("remarks", "so_mstr.so_rmks"),
                    ],
                ),
            },
            receivable: InvoiceEntry {
                enabled: true,
                evidence: "NO public REST evidence: component name and properties are INF, mirrored from the Financials BDInvoice API (F6, G28); browse an001 from the browse catalogue (G5)".into(),
                component: invoice_component.clone(),
                invoice_type: "INVOICE".into(),
                reference_field: "DInvoiceDIText".into(),
                browse: invoice_browse.clone(),
            },
            credit_note: InvoiceEntry {
                enabled: true,
                evidence: "NO public REST evidence: same Financials customer-invoice component with invoice type CREDITNOTE (F14, G28), INF".into(),
                component: invoice_component,
                invoice_type: "CREDITNOTE".into(),
                reference_field: "DInvoiceDIText".into(),
                browse: invoice_browse,
            },
            journal: JournalEntry {
                enabled: true,
                evidence: "BC family exists (DOC G6); path, properties and browse are INF, mirrored from the Financials BJournalEntry/BPosting API (F1-F4)".into(),
                component: comp(
                    "api/erp/journalEntries",
                    "urn:be:com.qad.financials.generalledger.journalentry.IJournalEntry",
                    "journalEntries",
                    &["entityCode", "voucher"],
                ),
                lines_collection: "journalEntryLines".into(),
                reference_field: "postingReference".into(),
                browse: browse(
                    "urn:browse:bebrowse:com.qad.financials.generalledger.journalEntries",
                    &[
                        ("reference", "journalEntry.postingReference"),
                        ("voucher", "journalEntry.voucher"),
                        ("entity", "journalEntry.entityCode"),
                    ],
                ),
            },
            inventory_adjustment: InventoryAdjustmentEntry {
                enabled: true,
                evidence: "receipt flow: public loader code (OBS G11); issue twin INF (unobserved); transaction browse gp267 from the browse catalogue (G5), tr_hist field names INF".into(),
                receipt: UnplannedDef {
                    enabled: true,
                    component: comp(
                        "api/erp/unplannedReceives",
                        "urn:be:com.qad.logistics.unplanned.IUnplannedReceiveV2",
                        "unplannedProcessorHeaderV2s",
                        &["domainCode", "siteCode"],
                    ),
                    detail_collection: "unplannedProcessorDetailV2s".into(),
                    validate_path: "api/erp/unplannedReceives/validateAndAssignDefaultsLine".into(),
                    field_order: strings(&["itemCode", "transactionQuantity"]),
                    reference_field: "reference".into(),
                },
                issue: UnplannedDef {
                    enabled: true,
                    component: comp(
                        "api/erp/unplannedIssues",
                        "urn:be:com.qad.logistics.unplanned.IUnplannedIssueV2",
                        "unplannedProcessorHeaderV2s",
                        &["domainCode", "siteCode"],
                    ),
                    detail_collection: "unplannedProcessorDetailV2s".into(),
                    validate_path: "api/erp/unplannedIssues/validateAndAssignDefaultsLine".into(),
                    field_order: strings(&["itemCode", "transactionQuantity"]),
                    reference_field: "reference".into(),
                },
                browse: browse(
                    "urn:browse:mfg:gp267",
                    &[
                        ("reference", "tr_hist.tr_rmks"),
                        ("item", "tr_hist.tr_part"),
                        ("site", "tr_hist.tr_site"),
                        ("quantity", "tr_hist.tr_qty_loc"),
                        ("number", "tr_hist.tr_trnbr"),
                    ],
                ),
            },
            inventory_level: InventoryLevelEntry {
                evidence: "ld_det browse and field names: public client code (OBS G19); browse id ca019 from the browse catalogue (G5)".into(),
                browse: browse(
                    "urn:browse:mfg:ca019",
                    &[
                        ("domain", "ld_det.ld_domain"),
                        ("site", "ld_det.ld_site"),
                        ("location", "ld_det.ld_loc"),
                        ("item", "ld_det.ld_part"),
                        ("lot", "ld_det.ld_lot"),
                        ("reference", "ld_det.ld_ref"),
                        ("quantity_on_hand", "ld_det.ld_qty_oh"),
                        ("quantity_allocated", "ld_det.ld_qty_all"),
                    ],
                ),
            },
        }
    }
}

/// Merges `overlay` into `base`: objects key by key, everything else replaced.
fn deep_merge(base: &mut serde_json::Value, overlay: &serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

impl Registry {
    /// Merges `overrides` (a JSON object shaped like the registry) over this registry and
    /// validates the result. `origin` names where the overrides came from, for messages.
    ///
    /// # Errors
    /// [`Error::Config`] for unknown keys, wrong types or names that break the grammar.
    pub fn merged_with(&self, overrides: &serde_json::Value, origin: &str) -> Result<Registry> {
        if !overrides.is_object() {
            return Err(Error::config(
                origin,
                "registry overrides must be a table/object keyed by entity (customer, sales_order, …)",
            ));
        }
        let mut merged = serde_json::to_value(self).map_err(|e| {
            Error::config(origin, format!("cannot serialise the base registry: {e}"))
        })?;
        deep_merge(&mut merged, overrides);
        let reg: Registry = serde_json::from_value(merged).map_err(|e| {
            Error::config(
                origin,
                format!(
                    "{e}; check the key names against docs/qad.md (registry format) — entities are domain, field_lookup, customer, item, sales_order, receivable, credit_note, journal, inventory_adjustment, inventory_level"
                ),
            )
        })?;
        reg.validate()?;
        Ok(reg)
    }

    /// Defaults merged with a TOML override document.
    ///
    /// # Errors
    /// [`Error::Config`] as for [`Registry::merged_with`].
    pub fn from_toml_overrides(s: &str) -> Result<Registry> {
        let v: toml::Value = toml::from_str(s)
            .map_err(|e| Error::config("qad.registry_file", format!("invalid TOML: {e}")))?;
        let json = serde_json::to_value(v)
            .map_err(|e| Error::config("qad.registry_file", format!("invalid registry: {e}")))?;
        Registry::default().merged_with(&json, "qad.registry_file")
    }

    /// Defaults merged with a JSON override document.
    ///
    /// # Errors
    /// [`Error::Config`] as for [`Registry::merged_with`].
    pub fn from_json_overrides(s: &str) -> Result<Registry> {
        let json: serde_json::Value = serde_json::from_str(s)
            .map_err(|e| Error::config("qad.registry_file", format!("invalid JSON: {e}")))?;
        Registry::default().merged_with(&json, "qad.registry_file")
    }

    /// Defaults merged with an override file (`.json` as JSON, anything else as TOML).
    ///
    /// # Errors
    /// [`Error::Config`] when the file cannot be read or is invalid.
    pub fn load_file(path: impl AsRef<Path>) -> Result<Registry> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(
                "qad.registry_file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let r = if path.extension().is_some_and(|e| e == "json") {
            Registry::from_json_overrides(&text)
        } else {
            Registry::from_toml_overrides(&text)
        };
        r.map_err(|e| match e {
            Error::Config { setting, message } => {
                Error::config(setting, format!("{message} (in {})", path.display()))
            }
            other => other,
        })
    }

    /// Checks every name against the grammar and required logical fields.
    ///
    /// # Errors
    /// [`Error::Config`] naming the registry setting (`qad.registry.sales_order.component.path`).
    pub fn validate(&self) -> Result<()> {
        if self.registry_version != REGISTRY_VERSION {
            return Err(Error::config(
                "qad.registry.registry_version",
                format!(
                    "version {} is not supported: this crate reads registry_version = {REGISTRY_VERSION}",
                    self.registry_version
                ),
            ));
        }
        check_browse("qad.registry.domain.browse", &self.domain.browse, &["code"])?;
        check_browse(
            "qad.registry.field_lookup.browse",
            &self.field_lookup.browse,
            &["browse", "field"],
        )?;

        let c = &self.customer;
        check_component("qad.registry.customer.component", &c.component)?;
        if let Some(ext) = &c.domain_extension {
            check_component("qad.registry.customer.domain_extension", ext)?;
        }
        check_browse("qad.registry.customer.browse", &c.browse, &["code"])?;

        let i = &self.item;
        check_component("qad.registry.item.component", &i.component)?;
        check_browse("qad.registry.item.browse", &i.browse, &["code"])?;

        let s = &self.sales_order;
        check_component("qad.registry.sales_order.component", &s.component)?;
        check_name(
            "qad.registry.sales_order.lines.collection",
            &s.lines.collection,
        )?;
        check_path(
            "qad.registry.sales_order.lines.grid_path",
            &s.lines.grid_path,
        )?;
        check_path(
            "qad.registry.sales_order.lines.field_change_path",
            &s.lines.field_change_path,
        )?;
        check_field_order(
            "qad.registry.sales_order.lines.field_order",
            &s.lines.field_order,
            &LINE_FIELDS,
        )?;
        check_name(
            "qad.registry.sales_order.lines.uom_field",
            &s.lines.uom_field,
        )?;
        if !s.lines.field_order.iter().any(|f| f == "itemCode") {
            return Err(Error::config(
                "qad.registry.sales_order.lines.field_order",
                "must contain `itemCode`: QAD defaults the line from the item",
            ));
        }
        check_name("qad.registry.sales_order.po_field", &s.po_field)?;
        check_name("qad.registry.sales_order.remarks_field", &s.remarks_field)?;
        check_browse(
            "qad.registry.sales_order.browse",
            &s.browse,
            &["number", "po", "customer"],
        )?;

        for (name, e) in [
            ("receivable", &self.receivable),
            ("credit_note", &self.credit_note),
        ] {
            check_component(&format!("qad.registry.{name}.component"), &e.component)?;
            check_name(
                &format!("qad.registry.{name}.invoice_type"),
                &e.invoice_type,
            )?;
            check_name(
                &format!("qad.registry.{name}.reference_field"),
                &e.reference_field,
            )?;
            check_browse(
                &format!("qad.registry.{name}.browse"),
                &e.browse,
                &["reference"],
            )?;
        }

        let j = &self.journal;
        check_component("qad.registry.journal.component", &j.component)?;
        check_name("qad.registry.journal.lines_collection", &j.lines_collection)?;
        check_name("qad.registry.journal.reference_field", &j.reference_field)?;
        check_browse("qad.registry.journal.browse", &j.browse, &["reference"])?;

        let a = &self.inventory_adjustment;
        for (name, u) in [("receipt", &a.receipt), ("issue", &a.issue)] {
            let base = format!("qad.registry.inventory_adjustment.{name}");
            check_component(&format!("{base}.component"), &u.component)?;
            check_name(&format!("{base}.detail_collection"), &u.detail_collection)?;
            check_path(&format!("{base}.validate_path"), &u.validate_path)?;
            check_field_order(
                &format!("{base}.field_order"),
                &u.field_order,
                &UNPLANNED_FIELDS,
            )?;
            if !u.field_order.iter().any(|f| f == "itemCode") {
                return Err(Error::config(
                    format!("{base}.field_order"),
                    "must contain `itemCode`: QAD defaults accounts and status from the item",
                ));
            }
            check_name(&format!("{base}.reference_field"), &u.reference_field)?;
        }
        check_browse(
            "qad.registry.inventory_adjustment.browse",
            &a.browse,
            &["reference"],
        )?;
        check_browse(
            "qad.registry.inventory_level.browse",
            &self.inventory_level.browse,
            &["site", "location", "item", "quantity_on_hand"],
        )?;
        Ok(())
    }
}

fn check_component(setting: &str, c: &ComponentDef) -> Result<()> {
    check_path(&format!("{setting}.path"), &c.path)?;
    check_view_uri(&format!("{setting}.view_uri"), &c.view_uri)?;
    check_name(&format!("{setting}.collection"), &c.collection)?;
    if c.key_params.is_empty() {
        return Err(Error::config(
            format!("{setting}.key_params"),
            "must name at least one key parameter (e.g. [\"domainCode\", \"salesOrderNumber\"])",
        ));
    }
    for k in &c.key_params {
        check_name(&format!("{setting}.key_params"), k)?;
    }
    Ok(())
}

fn check_field_order(setting: &str, fields: &[String], known: &[&str]) -> Result<()> {
    if fields.is_empty() {
        return Err(Error::config(setting, "must list at least one field"));
    }
    for f in fields {
        check_name(setting, f)?;
        if !known.contains(&f.as_str()) {
            return Err(Error::config(
                setting,
                format!(
                    "`{f}` is not a field the sink can fill; use some of: {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn check_browse(setting: &str, b: &BrowseDef, required: &[&str]) -> Result<()> {
    check_browse_id(&format!("{setting}.id"), &b.id)?;
    for r in required {
        if !b.fields.contains_key(*r) {
            return Err(Error::config(
                format!("{setting}.fields.{r}"),
                format!(
                    "is required: name the browse field that holds `{r}` (see lookupBrowseFields for {})",
                    b.id
                ),
            ));
        }
    }
    for (k, v) in &b.fields {
        if !is_browse_field(v) {
            return Err(Error::config(
                format!("{setting}.fields.{k}"),
                format!(
                    "`{v}` is not a browse field name: use `table.field` or `field` (letters, digits, `_`), e.g. `ld_det.ld_site` or `debtor.DebtorCode`"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a component path: `^api/(erp|qracore)(/[A-Za-z][A-Za-z0-9]*){1,3}$`.
///
/// # Errors
/// [`Error::Config`] naming `setting`, with a specific hint for absolute URLs, queries and `..`.
pub fn check_path(setting: &str, path: &str) -> Result<()> {
    let grammar = "it must look like `api/erp/<component>` or `api/qracore/<endpoint>` (1–3 segments of letters and digits, each starting with a letter)";
    if path.contains("://") || path.starts_with("//") {
        return Err(Error::config(
            setting,
            format!(
                "`{path}` is an absolute URL: give the path relative to qad.base_url; {grammar}"
            ),
        ));
    }
    if path.contains('?') || path.contains('#') {
        return Err(Error::config(
            setting,
            format!(
                "`{path}` carries a query or fragment: key parameters are declared in key_params and built by the client; {grammar}"
            ),
        ));
    }
    if path.split('/').any(|s| s == ".." || s == ".") {
        return Err(Error::config(
            setting,
            format!("`{path}` contains a `..`/`.` segment; {grammar}"),
        ));
    }
    let ok = (|| {
        let rest = path
            .strip_prefix("api/erp/")
            .or_else(|| path.strip_prefix("api/qracore/"))?;
        let segs: Vec<&str> = rest.split('/').collect();
        if segs.is_empty() || segs.len() > 3 {
            return None;
        }
        segs.iter().all(|s| is_name(s)).then_some(())
    })()
    .is_some();
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            setting,
            format!("`{path}` is not a valid QAD path: {grammar}"),
        ))
    }
}

/// Checks a view URI: `^urn:(be|service):[A-Za-z0-9.]+(\.I[A-Za-z0-9]+)(-[A-Za-z0-9]+)?$`.
///
/// # Errors
/// [`Error::Config`] naming `setting`.
pub fn check_view_uri(setting: &str, uri: &str) -> Result<()> {
    let ok = (|| {
        let rest = uri
            .strip_prefix("urn:be:")
            .or_else(|| uri.strip_prefix("urn:service:"))?;
        let (main, suffix) = match rest.split_once('-') {
            Some((m, s)) => (m, Some(s)),
            None => (rest, None),
        };
        if let Some(s) = suffix
            && (s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return None;
        }
        let segs: Vec<&str> = main.split('.').collect();
        if segs.len() < 2 {
            return None;
        }
        if !segs
            .iter()
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return None;
        }
        let last = segs[segs.len() - 1];
        (last.len() >= 2 && last.starts_with('I')).then_some(())
    })()
    .is_some();
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            setting,
            format!(
                "`{uri}` is not a QAD view URI: it must look like `urn:be:com.qad.<module>.I<Component>` (or `urn:service:…-<Action>`)"
            ),
        ))
    }
}

/// Checks a browse id:
/// `^urn:browse:(mfg:[a-z0-9]{2,8}|bebrowse:[A-Za-z0-9.]+|be:[A-Za-z0-9.:]+|custom:[A-Za-z0-9]+)$`.
///
/// # Errors
/// [`Error::Config`] naming `setting`.
pub fn check_browse_id(setting: &str, id: &str) -> Result<()> {
    let ok = if let Some(code) = id.strip_prefix("urn:browse:mfg:") {
        (2..=8).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    } else if let Some(rest) = id.strip_prefix("urn:browse:bebrowse:") {
        !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
            && !rest.contains("..")
    } else if let Some(rest) = id.strip_prefix("urn:browse:be:") {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b':')
            && !rest.contains("..")
    } else if let Some(rest) = id.strip_prefix("urn:browse:custom:") {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            setting,
            format!(
                "`{id}` is not a QAD browse id: use `urn:browse:mfg:<code>` (e.g. urn:browse:mfg:cm007), `urn:browse:bebrowse:<module>.<plural>`, `urn:browse:be:…` or `urn:browse:custom:<name>`"
            ),
        ))
    }
}

fn check_name(setting: &str, name: &str) -> Result<()> {
    if is_name(name) {
        Ok(())
    } else {
        Err(Error::config(
            setting,
            format!(
                "`{name}` is not a QAD property name: letters and digits, starting with a letter"
            ),
        ))
    }
}

fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic()) && b.all(|c| c.is_ascii_alphanumeric())
}

fn is_browse_field(s: &str) -> bool {
    let part = |p: &str| {
        let mut b = p.bytes();
        matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
            && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
    };
    match s.split_once('.') {
        Some((t, f)) => part(t) && part(f),
        None => part(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Registry::default().validate().unwrap();
    }

    #[test]
    fn path_grammar() {
        for ok in [
            "api/erp/customerV2s",
            "api/erp/purchasing/supplierItems",
            "api/erp/salesOrderLines/fieldChange",
            "api/qracore/browses",
        ] {
            check_path("x", ok).unwrap();
        }
        for (bad, hint) in [
            ("https://evil.example/api/erp/x", "absolute URL"),
            ("//evil.example/api/erp/x", "absolute URL"),
            ("api/erp/x?viewUri=a", "query"),
            ("api/erp/../admin", ".."),
            ("api/erp/", "not a valid"),
            ("/api/erp/items", "not a valid"),
            ("api/other/items", "not a valid"),
            ("api/erp/a/b/c/d", "not a valid"),
            ("api/erp/1items", "not a valid"),
            ("api/erp/it-ems", "not a valid"),
        ] {
            let e = check_path("qad.registry.x.component.path", bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("qad.registry.x.component.path"), "{e}");
            assert!(e.contains(hint), "{bad}: {e}");
        }
    }

    #[test]
    fn view_uri_and_browse_grammar() {
        check_view_uri("x", "urn:be:com.qad.base.customer.ICustomerV2").unwrap();
        check_view_uri(
            "x",
            "urn:service:com.qad.financials.generalledger.journalentry.IJournalEntry-AccountInfos",
        )
        .unwrap();
        for bad in [
            "urn:be:ICustomer",
            "urn:be:com.qad..ICustomer",
            "urn:be:com.qad.customer.Customer",
            "urn:xx:com.qad.ICustomer",
            "urn:be:com.qad.ICustomer?x",
            "urn:be:com.qad.ICustomer-",
        ] {
            assert!(check_view_uri("x", bad).is_err(), "{bad}");
        }
        for ok in [
            "urn:browse:mfg:cm007",
            "urn:browse:bebrowse:com.qad.erp.base.domainV3s",
            "urn:browse:be:com.qad.qra.app.IApp",
            "urn:browse:custom:lookupBrowseFields",
        ] {
            check_browse_id("x", ok).unwrap();
        }
        for bad in [
            "urn:browse:mfg:CM007",
            "urn:browse:mfg:c",
            "urn:browse:mfg:cm007&x=1",
            "mfg:cm007",
            "urn:browse:custom:a/b",
        ] {
            assert!(check_browse_id("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn overrides_merge_one_line_and_name_the_setting() {
        let r = Registry::from_toml_overrides(
            "[receivable.component]\npath = \"api/erp/financials/customerInvoices\"\n",
        )
        .unwrap();
        assert_eq!(
            r.receivable.component.path,
            "api/erp/financials/customerInvoices"
        );
        assert_eq!(
            r.receivable.component.view_uri,
            Registry::default().receivable.component.view_uri
        );
        let e = Registry::from_toml_overrides("[journal.component]\npath = \"../../etc\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("qad.registry.journal.component.path"), "{e}");
        let e = Registry::from_json_overrides(r#"{"journal":{"componet":{}}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("componet"), "{e}");
        let e = Registry::from_json_overrides(
            r#"{"sales_order":{"browse":{"fields":{"po":"so po"}}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("qad.registry.sales_order.browse.fields.po"),
            "{e}"
        );
    }
}
