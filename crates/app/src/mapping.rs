//! Mapping sklad warehouses to keyCRM warehouses. Several sklad warehouses may share one
//! keyCRM warehouse: keyCRM then receives their sum (each less its push buffer, never below
//! zero). A change marks every SKU of the warehouses concerned, for the keyCRM warehouse
//! they left and the one they joined.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use sklad_db::DbError;
use sklad_db::warehouses::{Warehouse, WarehouseEdit};
use uuid::Uuid;

use crate::versions::{self, Expected, Stale};

/// Why a mapping change was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Someone else changed the mapping since the client read it.
    #[error(transparent)]
    Stale(#[from] Stale),
    /// An unknown sklad warehouse is `NotFound`; an unknown keyCRM warehouse violates a
    /// foreign key.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for MappingError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(err.into())
    }
}

/// The whole mapping's version (see [`versions::mapping`]).
pub fn version(warehouses: &[Warehouse]) -> String {
    versions::mapping(warehouses.iter().map(|w| (w.id, w.keycrm_warehouse_id)))
}

/// Applies `mapping` (sklad warehouse → keyCRM warehouse, or none to unmap) in one
/// transaction, if the mapping is still at the `expected` version.
pub async fn set(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    mapping: Vec<(Uuid, Option<i64>)>,
    expected: &Expected,
) -> Result<(), MappingError> {
    conn.transaction::<_, MappingError, _>(async move |conn| {
        let all = sklad_db::warehouses::lock_all(conn, account).await?;
        expected.check(&version(&all))?;
        let changes = sklad_db::warehouses::set_mapping(conn, account, &mapping).await?;
        let push_on = sklad_db::integrations::get(conn, account)
            .await?
            .settings
            .stock_push_enabled;
        if !push_on {
            return Ok(());
        }
        for change in changes {
            let skus = sklad_db::stock_sync::skus_in(conn, account, &[change.warehouse_id]).await?;
            for target in [change.before, change.after].into_iter().flatten() {
                let pairs: Vec<(i64, String)> = skus.iter().map(|s| (target, s.clone())).collect();
                sklad_db::stock_sync::mark(conn, account, &pairs).await?;
            }
        }
        Ok(())
    })
    .await
}

/// Why a warehouse change was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// A warehouse holding stock (or reservations) cannot be archived: its goods would
    /// vanish from every form.
    #[error("the warehouse still holds stock; move or write it off first")]
    HasStock,
    /// Orders ship from it (the ship warehouse or a source rule names it).
    #[error("orders ship from this warehouse; choose another in the integration settings first")]
    ShipsOrders,
    /// Someone else changed the warehouse since the client read it.
    #[error(transparent)]
    Stale(#[from] Stale),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for WarehouseError {
    fn from(err: diesel::result::Error) -> Self {
        WarehouseError::Db(err.into())
    }
}

/// Changes a warehouse (see [`sklad_db::warehouses::update`]) in one transaction; a new push
/// buffer changes what the warehouse contributes to its keyCRM warehouse, so every SKU it
/// holds is marked there. Archiving takes an empty warehouse no order ships from out of
/// every form and out of the mapping; its ledger stays.
pub async fn update_warehouse(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    edit: WarehouseEdit,
    expected: &Expected,
) -> Result<Option<Warehouse>, WarehouseError> {
    conn.transaction::<_, WarehouseError, _>(async move |conn| {
        let Some(before) = sklad_db::warehouses::lock(conn, account, id).await? else {
            return Ok(None);
        };
        expected.check(&versions::warehouse(&before))?;
        let archiving = matches!(edit.archived_at, Some(Some(_))) && before.archived_at.is_none();
        if archiving {
            if sklad_db::warehouses::holds_stock(conn, id).await? {
                return Err(WarehouseError::HasStock);
            }
            let settings = sklad_db::integrations::get(conn, account).await?.settings;
            if settings.warehouses().contains(&id) {
                return Err(WarehouseError::ShipsOrders);
            }
            if before.keycrm_warehouse_id.is_some() {
                sklad_db::warehouses::set_mapping(conn, account, &[(id, None)]).await?;
            }
        }
        let Some(after) = sklad_db::warehouses::update(conn, account, id, edit).await? else {
            return Ok(None);
        };
        if let Some(target) = after.keycrm_warehouse_id
            && before.push_buffer != after.push_buffer
        {
            let skus = sklad_db::stock_sync::skus_in(conn, account, &[id]).await?;
            let pairs: Vec<(i64, String)> = skus.into_iter().map(|s| (target, s)).collect();
            sklad_db::stock_sync::mark(conn, account, &pairs).await?;
        }
        Ok(Some(after))
    })
    .await
}
