//! The console's words in English and Ukrainian. Each entry names both, so a language
//! can never miss one (it would not compile); templates only ever read [`Text`].
//!
//! Why this file is long: it is the catalogue of every word the console shows, in both
//! languages side by side; splitting it would scatter a translator's work.

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Uk,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Uk => "uk",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "en" => Some(Lang::En),
            "uk" => Some(Lang::Uk),
            _ => None,
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Uk => &UK,
        }
    }

    /// The browser's preferred language among ours (`Accept-Language`, by weight); English
    /// when it names neither.
    pub fn negotiate(accept_language: &str) -> Self {
        let mut best: Option<(f32, Lang)> = None;
        for (position, item) in accept_language.split(',').enumerate().take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let Some(lang) = Lang::from_code(primary) else {
                continue;
            };
            // Earlier entries win ties, as the header lists them by preference.
            let score = weight - position as f32 * 1e-4;
            if weight > 0.0 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }
}

macro_rules! catalogue {
    ($($key:ident: $en:expr, $uk:expr;)*) => {
        /// Every word the console shows, in one language.
        pub struct Text {
            $(pub $key: &'static str,)*
        }

        static EN: Text = Text { $($key: $en,)* };
        static UK: Text = Text { $($key: $uk,)* };
    };
}

impl Text {
    /// The words for one of sklad's stored names (a shipment state, a movement kind...).
    pub fn label(&self, name: &str) -> &'static str {
        match name {
            "not_shipped" => self.state_not_shipped,
            "reserved" => self.state_reserved,
            "waiting" => self.state_waiting,
            "shipped" => self.state_shipped,
            "returned" => self.state_returned,
            "queued" => self.job_queued,
            "running" => self.job_running,
            "done" => self.job_done,
            "failed" => self.job_failed,
            "cancelled" => self.job_cancelled,
            "receipt" => self.kind_receipt,
            "write_off" => self.kind_write_off,
            "transfer" => self.kind_transfer,
            "inventory" => self.kind_inventory,
            "shipment" => self.kind_shipment,
            "return" => self.kind_return,
            "correction" => self.kind_correction,
            "production" => self.kind_production,
            "reversal" => self.kind_reversal,
            "accepted" => self.push_accepted,
            "rejected" => self.push_rejected,
            "keycrm_offer" => self.origin_keycrm_offer,
            "keycrm_one_time" => self.origin_keycrm_one_time,
            "manual" => self.origin_manual,
            "planned" => self.production_planned,
            "released" => self.production_released,
            _ => self.unknown,
        }
    }

    /// A keyCRM payment status in words; one keyCRM adds later is shown as it came.
    pub fn payment_status<'a>(&self, status: &'a str) -> &'a str {
        match status {
            "paid" => self.payment_paid,
            "not_paid" => self.payment_not_paid,
            "part_paid" => self.payment_part_paid,
            "overpaid" => self.payment_overpaid,
            "canceled" | "cancelled" => self.payment_canceled,
            other => other,
        }
    }

    /// Why a take-over left a SKU alone, in words.
    pub fn skip_reason(&self, reason: &str) -> &'static str {
        match reason {
            "unknown_sku" => self.skip_unknown_sku,
            "not_stocked" => self.skip_not_stocked,
            "negative_in_keycrm" => self.skip_negative_in_keycrm,
            "others_hold_more" => self.skip_others_hold_more,
            "out_of_range" => self.skip_out_of_range,
            _ => self.unknown,
        }
    }

    /// A spreadsheet problem's code in words.
    pub fn sheet_problem(&self, code: &str) -> &'static str {
        match code {
            "required" => self.sheet_required,
            "too_long" => self.sheet_too_long,
            "not_a_number" => self.sheet_not_a_number,
            "negative" => self.sheet_negative,
            "too_precise" => self.sheet_too_precise,
            "too_large" => self.sheet_too_large,
            "not_a_yes_no" => self.sheet_not_a_yes_no,
            "duplicate_sku" => self.sheet_duplicate_sku,
            "duplicate_count" => self.sheet_duplicate_count,
            "unknown_column" => self.sheet_unknown_column,
            "missing_column" => self.sheet_missing_column,
            "duplicate_column" => self.sheet_duplicate_column,
            "too_many_cells" => self.sheet_too_many_cells,
            "too_many_rows" => self.sheet_too_many_rows,
            "empty" => self.sheet_empty,
            "control_character" => self.sheet_control_character,
            "unknown_warehouse" => self.sheet_unknown_warehouse,
            "unknown_sku" => self.sheet_unknown_sku,
            "not_stocked" => self.sheet_not_stocked,
            _ => self.sheet_malformed,
        }
    }

    /// The message a redirect names after a form succeeded (`?done=…`); `None` for a name
    /// we do not know (never echo what a link says).
    pub fn done(&self, name: &str) -> Option<&'static str> {
        Some(match name {
            "saved" => self.done_saved,
            "rotated" => self.done_rotated,
            "sync_started" => self.done_sync_started,
            "sync_cancelled" => self.done_sync_cancelled,
            "warehouse_created" => self.done_warehouse_created,
            "movement_recorded" => self.done_movement_recorded,
            "product_saved" => self.done_product_saved,
            "list_updated" => self.done_list_updated,
            "mapping_saved" => self.done_mapping_saved,
            "resync_started" => self.done_resync_started,
            "production_planned" => self.done_production_planned,
            "production_released" => self.done_production_released,
            "production_cancelled" => self.done_production_cancelled,
            "bom_saved" => self.done_bom_saved,
            "movement_reversed" => self.done_movement_reversed,
            "stock_saved" => self.done_stock_saved,
            "order_shipped" => self.done_order_shipped,
            "warehouse_saved" => self.done_warehouse_saved,
            "warehouse_archived" => self.done_warehouse_archived,
            "catalogue_started" => self.done_catalogue_started,
            "catalogue_cancelled" => self.done_catalogue_cancelled,
            "products_imported" => self.done_products_imported,
            "counts_recorded" => self.done_counts_recorded,
            "taken_over" => self.done_taken_over,
            _ => return None,
        })
    }
}

catalogue! {
    lang_code: "en", "uk";
    other_language: "Українська", "English";
    other_language_code: "uk", "en";
    sign_in: "Sign in", "Увійти";
    sign_out: "Sign out", "Вийти";
    admin_token: "Admin token", "Токен адміністратора";
    admin_token_hint: "The person who runs sklad gives you one (they make it with the command below). The console remembers you for a while; revoking the token signs you out.",
        "Його видає той, хто обслуговує sklad (створює командою нижче). Консоль пам'ятає вас деякий час; відкликаний токен завершує сеанс.";
    admin_token_command: "sklad account token create", "sklad account token create";
    sign_in_failed: "This token is not valid (unknown, revoked or expired).", "Цей токен недійсний (невідомий, відкликаний або прострочений).";
    csrf_refused: "This form is stale or was not sent by this console. Go back, reload the page and try again.",
        "Форма застаріла або надіслана не з цієї консолі. Поверніться, оновіть сторінку й спробуйте ще раз.";
    back_to_console: "Back to the console", "Повернутися до консолі";
    something_wrong: "That did not work", "Не вдалося";
    nav_orders: "Customer Orders", "Замовлення покупців";
    nav_today: "Today", "Сьогодні";
    nav_waiting: "Waiting for stock", "Чекають на товар";
    menu: "Menu", "Меню";
    nav_account: "Time and money", "Час і гроші";
    time_zone: "Time zone", "Часовий пояс";
    time_zone_hint: "Every time sklad shows is in this zone, named after it.", "Увесь час у sklad показано в цьому поясі, з його назвою.";
    currency: "Currency", "Валюта";
    currency_hint: "Three letters, as on a bank statement: UAH, EUR, USD. Amounts show with two decimals.", "Три літери, як у банківській виписці: UAH, EUR, USD. Суми показано з двома знаками після коми.";
    shown_example: "Now, as pages show it", "Зараз, як показують сторінки";
    archive: "Archive", "Архівувати";
    unarchive: "Bring back", "Повернути з архіву";
    archive_hint: "An archived warehouse leaves every form and the mapping; its history stays. Only an empty warehouse no order ships from can be archived.",
        "Архівний склад зникає з усіх форм і зіставлення; його історія лишається. Архівувати можна лише порожній склад, з якого не відвантажуються замовлення.";
    warehouse_archived_hint: "This warehouse is archived: no form offers it.", "Цей склад в архіві: жодна форма його не пропонує.";
    err_warehouse_has_stock: "The warehouse still holds stock: move it or write it off first.", "На складі ще є товар: спершу перемістіть або спишіть його.";
    err_warehouse_ships_orders: "Orders ship from this warehouse: choose another in Integrations → keyCRM first.", "З цього складу відвантажуються замовлення: спершу оберіть інший в Інтеграції → keyCRM.";
    done_warehouse_saved: "Warehouse saved.", "Склад збережено.";
    done_warehouse_archived: "Warehouse archived.", "Склад заархівовано.";
    add_row: "Add a row", "Додати рядок";
    paste_hint: "From a spreadsheet: copy two columns, SKU and quantity, and paste them into the first SKU field; the rows fill in.",
        "З таблиці: скопіюйте два стовпці, артикул і кількість, і вставте їх у перше поле артикула; рядки заповняться.";
    waiting_hint: "These orders are in a ship status, but their warehouse does not hold enough yet. They ship by themselves once stock arrives, or by “Ship now” on the order.",
        "Ці замовлення в статусі відвантаження, але на їхньому складі ще недостатньо товару. Вони відвантажаться самі, щойно товар надійде, або кнопкою «Відвантажити зараз» на замовленні.";
    waiting_none: "No order is waiting for stock.", "Жодне замовлення не чекає на товар.";
    waiting_since: "Waiting since", "Чекає з";
    short_lines: "Short of stock", "Бракує товару";
    needed: "needed", "потрібно";
    in_stock: "on hand", "є";
    ship_from: "Ship from", "Відвантажити зі складу";
    ship_now: "Ship now", "Відвантажити зараз";
    orders_any_shipment: "Any shipment state", "Будь-який стан відвантаження";
    done_order_shipped: "Shipped: the order's lines left the warehouse.", "Відвантажено: рядки замовлення списано зі складу.";
    today_integration_ok: "keyCRM is connected: orders arrive and stock is sent as set.", "keyCRM підключено: замовлення надходять, залишки надсилаються, як налаштовано.";
    today_integration_off: "The keyCRM integration is switched off: no orders arrive and no stock is sent.", "Інтеграцію з keyCRM вимкнено: замовлення не надходять, залишки не надсилаються.";
    today_waiting: "orders waiting for stock", "замовлень чекають на товар";
    today_failing: "keyCRM warehouses refusing stock", "складів keyCRM не приймають залишки";
    today_dirty: "SKUs waiting to be sent to keyCRM", "артикулів чекають надсилання в keyCRM";
    today_planned: "production orders planned", "виробничих замовлень заплановано";
    today_orders: "customer orders", "замовлень покупців";
    getting_started: "Getting started", "Початок роботи";
    step_key: "Save the keyCRM API key", "Збережіть API-ключ keyCRM";
    step_webhook: "Receive the first webhook from keyCRM's automation", "Отримайте перший вебхук від автоматизації keyCRM";
    step_catalogue: "Import the catalogue from keyCRM", "Імпортуйте каталог із keyCRM";
    step_mapped: "Map warehouses to keyCRM warehouses", "Зіставте склади зі складами keyCRM";
    step_taken_over: "Take keyCRM's quantities over", "Перенесіть залишки з keyCRM";
    step_sending: "Switch sending stock balances to keyCRM on", "Увімкніть передавання залишків у keyCRM";
    step_done: "done", "зроблено";
    sign_in_throttled: "Too many failed attempts from this address. Wait a minute and try again.", "Забагато невдалих спроб з цієї адреси. Зачекайте хвилину й спробуйте знову.";
    done_catalogue_started: "The catalogue import started; its progress is below.", "Імпорт каталогу розпочато; його хід показано нижче.";
    done_catalogue_cancelled: "The catalogue import was cancelled; pages already read stay imported.", "Імпорт каталогу скасовано; уже прочитані сторінки збережено.";
    done_products_imported: "Products saved from the spreadsheet.", "Товари з таблиці збережено.";
    done_counts_recorded: "The counts were recorded: one inventory per warehouse.", "Підрахунок записано: одна інвентаризація на склад.";
    done_taken_over: "keyCRM's quantities are sklad's opening count now. Nothing was sent to keyCRM.", "Залишки keyCRM тепер є початковими залишками sklad. У keyCRM нічого не надіслано.";
    catalogue_title: "keyCRM catalogue", "Каталог keyCRM";
    catalogue_hint: "Brings every keyCRM offer in as a product (name with colour and size, price, purchase price, barcode). Importing again changes only what changed in keyCRM; new offers also arrive by themselves once a day.", "Переносить кожну пропозицію keyCRM як товар (назва з кольором і розміром, ціна, закупівельна ціна, штрихкод). Повторний імпорт змінює лише те, що змінилося в keyCRM; нові пропозиції також надходять самі раз на добу.";
    catalogue_import: "Import the catalogue from keyCRM", "Імпортувати каталог із keyCRM";
    catalogue_periodic: "daily refresh", "щоденне оновлення";
    catalogue_created: "new", "нових";
    catalogue_updated: "changed", "змінено";
    catalogue_unchanged: "unchanged", "без змін";
    sheets_title: "Spreadsheets", "Таблиці";
    sheets_hint: "Excel files saved as CSV: Ukrainian Excel's semicolons and decimal commas are read too. Nothing is saved until you have seen what changes.", "Файли Excel, збережені як CSV: крапки з комою та десяткові коми українського Excel теж читаються. Нічого не зберігається, доки ви не побачите зміни.";
    sheets_export_excel: "Download products for Excel", "Завантажити товари для Excel";
    sheets_export_plain: "Download products (CSV)", "Завантажити товари (CSV)";
    sheets_products: "Products from a spreadsheet", "Товари з таблиці";
    sheets_columns: "Columns", "Колонки";
    sheets_product_columns: "sku, name, unit, price, unit_cost, barcode, tracks_stock", "sku, name, unit, price, unit_cost, barcode, tracks_stock";
    sheets_count_columns: "sku, warehouse, quantity", "sku, warehouse, quantity";
    sheets_count_warehouse: "the warehouse by its name", "склад за назвою";
    sheets_counts: "Counted stock from a spreadsheet", "Підраховані залишки з таблиці";
    sheets_choose: "Choose a CSV file", "Виберіть файл CSV";
    sheets_or_paste: "or paste its contents", "або вставте його вміст";
    sheets_check: "Check the file", "Перевірити файл";
    sheets_preview_title: "What the spreadsheet changes", "Що змінить таблиця";
    sheets_rows: "rows", "рядків";
    sheets_counted: "counted", "підраховано";
    sheets_confirm_hint: "Nothing is saved yet. Save to apply exactly this.", "Ще нічого не збережено. Збережіть, щоб застосувати саме це.";
    sheets_save: "Save", "Зберегти";
    take_over_title: "Take keyCRM's quantities over", "Перенести залишки з keyCRM";
    take_over_hint: "For a shop moving in: sklad reads what keyCRM holds in each mapped warehouse and records it as the opening count (one inventory per warehouse). keyCRM is sent nothing.", "Для магазину, що переходить у sklad: sklad читає залишки keyCRM у кожному зіставленому складі й записує їх як початкові (одна інвентаризація на склад). У keyCRM нічого не надсилається.";
    take_over_done_at: "keyCRM's quantities were taken over", "Залишки keyCRM перенесено";
    take_over_unmapped: "No warehouse is mapped to a keyCRM warehouse yet.", "Жоден склад ще не зіставлено зі складом keyCRM.";
    take_over_into: "The warehouse that is counted", "Склад, який буде підраховано";
    take_over_show: "Show what would change", "Показати, що зміниться";
    take_over_preview: "What would change", "Що зміниться";
    take_over_keeps: "Keeps what it holds", "Залишає свої залишки";
    take_over_sklad: "sklad", "sklad";
    take_over_keycrm: "keyCRM", "keyCRM";
    take_over_change: "change", "зміна";
    take_over_skipped: "Left as they are", "Залишено без змін";
    take_over_changing: "SKUs that change", "Артикулів зміниться";
    take_over_agree: "Already agree", "Уже збігаються";
    take_over_confirm_hint: "Nothing is recorded yet. Taking over records exactly this.", "Ще нічого не записано. Перенесення запише саме це.";
    take_over_confirm: "Take these quantities over", "Перенести ці залишки";
    skip_unknown_sku: "sklad has no such product; import the catalogue first", "у sklad немає такого товару; спершу імпортуйте каталог";
    skip_not_stocked: "the product is not counted in warehouses", "товар не обліковується на складах";
    skip_negative_in_keycrm: "keyCRM holds less than zero", "у keyCRM менше нуля";
    skip_others_hold_more: "the other warehouses already hold more", "інші склади вже мають більше";
    skip_out_of_range: "keyCRM's quantity cannot be stored", "кількість keyCRM не можна зберегти";
    err_stock_not_taken_over: "keyCRM holds {uncounted} SKUs sklad has never counted. Sending now would replace keyCRM's quantities with sklad's, zeros included.", "У keyCRM є {uncounted} артикулів, яких sklad ще не підраховував. Якщо надсилати зараз, кількості keyCRM буде замінено кількостями sklad, зокрема нулями.";
    err_catalogue_import_running: "A catalogue import is already running; its progress is on the Products screen.", "Імпорт каталогу вже триває; його хід показано на екрані «Номенклатура».";
    uncounted_choice: "Sending is still off. Choose how to go on:", "Передавання досі вимкнене. Виберіть, як продовжити:";
    stock_tracking: "Stock", "Облік залишків";
    sheet_line: "line", "рядок";
    sheet_required: "is empty", "порожня";
    sheet_too_long: "is too long", "задовга";
    sheet_not_a_number: "is not a number", "не число";
    sheet_negative: "is below zero", "менше нуля";
    sheet_too_precise: "has more than 4 decimal places", "має понад 4 знаки після коми";
    sheet_too_large: "is too large", "завелике";
    sheet_not_a_yes_no: "is not yes or no", "не «так» чи «ні»";
    sheet_duplicate_sku: "repeats a SKU of an earlier line", "повторює артикул попереднього рядка";
    sheet_duplicate_count: "repeats a SKU and warehouse of an earlier line", "повторює артикул і склад попереднього рядка";
    sheet_unknown_column: "is not a column sklad reads", "не колонка, яку читає sklad";
    sheet_missing_column: "column is missing", "колонки немає";
    sheet_duplicate_column: "column appears twice", "колонка повторюється";
    sheet_too_many_cells: "has more cells than the header", "має більше клітинок, ніж заголовок";
    sheet_too_many_rows: "the file has too many rows (at most 20 000)", "у файлі забагато рядків (щонайбільше 20 000)";
    sheet_empty: "the file is empty", "файл порожній";
    sheet_control_character: "holds a control character", "містить керівний символ";
    sheet_unknown_warehouse: "no warehouse has this name", "складу з такою назвою немає";
    sheet_unknown_sku: "sklad has no product with this SKU", "у sklad немає товару з таким артикулом";
    sheet_not_stocked: "the product is not counted in warehouses", "товар не обліковується на складах";
    sheet_malformed: "cannot be read", "не читається";
    uncounted_take_over: "Take keyCRM's quantities first", "Спершу перенести залишки з keyCRM";
    uncounted_send: "sklad's quantities are right: send them", "Кількості sklad правильні: надсилати їх";
    not_stocked: "not stocked", "не обліковується";
    tracks_stock: "Counted in warehouses", "Обліковується на складах";
    tracks_stock_hint: "Off for a service (engraving, gift wrap): its order lines never reserve, ship, wait or reach keyCRM's stock.", "Вимкніть для послуги (гравіювання, пакування): її рядки замовлень не резервуються, не відвантажуються, не чекають і не потрапляють у залишки keyCRM.";
    barcode: "Barcode", "Штрихкод";
    archived_in_keycrm: "archived in keyCRM", "в архіві keyCRM";
    reconcile_uncounted: "Never counted in sklad, left as keyCRM has them", "Ще не підраховані в sklad, залишено як у keyCRM";
    group_nav_settings: "Settings", "Налаштування";
    nav_products: "Products", "Номенклатура";
    nav_warehouses: "Stock balances", "Залишки";
    nav_movements: "Movements", "Рухи";
    nav_stock_keycrm: "Stock → keyCRM", "Залишки → keyCRM";
    nav_sync: "Synchronize orders", "Синхронізувати замовлення";
    nav_production: "Production", "Виробництво";
    nav_status: "Status", "Стан";
    nav_settings: "Integrations → keyCRM", "Інтеграції → keyCRM";
    integration_title: "Settings → Integrations → keyCRM", "Налаштування → Інтеграції → keyCRM";
    no_key_yet: "No keyCRM key yet: paste it here, tick \"Enable integration\" and press \"Update\".",
        "Ключа keyCRM ще немає: вставте його тут, позначте «Увімкнути інтеграцію» і натисніть «Оновити».";
    api_key: "API key", "API-ключ";
    api_key_placeholder: "Paste the keyCRM API key", "Вставте API-ключ keyCRM";
    api_key_hint: "keyCRM → Settings → General → API key. Stored encrypted and never shown again; leave empty to keep the saved one.",
        "keyCRM → Налаштування → Загальні → API-ключ. Зберігається зашифрованим і більше не показується; залиште порожнім, щоб не змінювати.";
    key_rejected: "keyCRM rejected this key: check it and paste it again.", "keyCRM відхилив цей ключ: перевірте його та вставте ще раз.";
    base_url: "keyCRM API address", "Адреса API keyCRM";
    enable_integration: "Enable integration", "Увімкнути інтеграцію";
    receive_payments: "Receive bank transactions about order payments", "Отримувати банківські транзакції про оплати замовлень";
    keep_product_info: "Do not change product information", "Не змінювати інформацію про товари";
    archive_statuses: "Archive statuses", "Статуси архіву";
    import_statuses: "Statuses to re-check", "Статуси для повторної перевірки";
    import_statuses_hint: "Orders in these statuses are read again from keyCRM every few minutes, so an order whose webhook was lost still arrives.",
        "Замовлення в цих статусах перечитуються з keyCRM кожні кілька хвилин, тож замовлення, чий вебхук загубився, все одно надійде.";
    archive_statuses_hint: "An order that reaches one of these is complete and moves to the archive.", "Замовлення в одному з цих статусів завершене й переходить до архіву.";
    ship_statuses_hint: "An order that reaches one of these leaves the warehouse: its lines are written off.", "Замовлення в одному з цих статусів відвантажується: його рядки списуються зі складу.";
    reserve_statuses_hint: "An order in one of these holds its goods, so they are not promised twice.", "Замовлення в одному з цих статусів резервує товар, щоб його не пообіцяли двічі.";
    return_statuses_hint: "A shipped order that reaches one of these comes back: its goods return to the warehouse.", "Відвантажене замовлення в одному з цих статусів повертається: товар повертається на склад.";
    production_statuses_hint: "An order that reaches one of these plans the production of what stock does not cover.", "Замовлення в одному з цих статусів планує виробництво того, чого бракує на складі.";
    receive_payments_hint: "Payments of keyCRM orders are stored with their orders.", "Оплати замовлень keyCRM зберігаються разом із замовленнями.";
    keep_product_info_hint: "A product sklad already has keeps its name and price when an order brings it again.", "Товар, який уже є в sklad, зберігає назву й ціну, коли замовлення приносить його знову.";
    base_url_hint: "Where keyCRM's API answers; the key is sent nowhere else.", "Адреса API keyCRM; ключ більше нікуди не надсилається.";
    enable_hint: "Off: sklad neither takes webhooks nor asks keyCRM anything for this account.", "Вимкнено: sklad не приймає вебхуки і нічого не запитує в keyCRM для цього облікового запису.";
    ship_warehouse_hint: "The warehouse orders leave from, unless a rule below names another.", "Склад, з якого відвантажуються замовлення, якщо правило нижче не вказує інший.";
    push_quantity_hint: "On hand: everything on the shelf. Available: less what orders hold.", "Фактичний залишок: усе, що на полиці. Доступно: мінус те, що зарезервовано замовленнями.";
    requests_per_minute_hint: "keyCRM allows 60 a minute per key; sklad shares them between all its work.", "keyCRM дозволяє 60 на хвилину на ключ; sklad розподіляє їх між усією роботою.";
    group_connection: "Connection", "Підключення";
    group_orders: "Orders", "Замовлення";
    group_stock: "Stock", "Склад";
    group_limits: "Limits", "Обмеження";
    webhook_step_1: "In keyCRM open Settings → Advanced → Automation and press “Add trigger”.", "У keyCRM відкрийте Налаштування → Розширені → Автоматизація і натисніть «Додати тригер».";
    webhook_step_2: "Give it a title, for example “sklad”.", "Дайте йому назву, наприклад «sklad».";
    webhook_step_3: "Values: choose the order statuses sklad must hear about; Time: Immediately.", "Значення: оберіть статуси замовлень, про які має знати sklad; Час: Негайно.";
    webhook_step_4: "Conditions: the same statuses.", "Умови: ті самі статуси.";
    webhook_step_5: "Action: “Send Webhook”, method POST.", "Дія: «Надіслати вебхук», метод POST.";
    webhook_step_6: "Paste the link above (Copy) and save the trigger.", "Вставте посилання вище (Копіювати) і збережіть тригер.";
    webhook_secret_hint: "Keep the link secret: whoever has it can send sklad order events.", "Тримайте посилання в таємниці: хто його має, може надсилати sklad події замовлень.";
    rotate_confirm_title: "Replace the webhook link?", "Замінити посилання для вебхука?";
    rotate_confirm_hint: "The old link stops at once. Paste the new one into keyCRM's trigger (Settings → Advanced → Automation), or keyCRM's events stop reaching sklad.",
        "Старе посилання перестає працювати одразу. Вставте нове в тригер keyCRM (Налаштування → Розширені → Автоматизація), інакше події keyCRM перестануть надходити до sklad.";
    rotate_confirm: "Yes, replace it", "Так, замінити";
    ship_statuses: "Ship statuses", "Статуси відвантаження";
    return_statuses: "Return statuses", "Статуси повернення";
    reserve_statuses: "Reserve statuses", "Статуси резерву";
    production_statuses: "Make-to-order statuses", "Статуси виробництва під замовлення";
    statuses_need_key: "keyCRM's statuses appear here once a key is saved.", "Статуси keyCRM з'являться тут після збереження ключа.";
    statuses_unavailable: "keyCRM's statuses could not be loaded", "Не вдалося завантажити статуси keyCRM";
    ship_warehouse: "Orders ship from", "Замовлення відвантажуються зі складу";
    push_quantity: "Quantity sent to keyCRM", "Кількість, що надсилається в keyCRM";
    source_rules: "Ship from another warehouse by order source", "Відвантаження з іншого складу за джерелом замовлення";
    source_rules_hint: "Orders from these keyCRM sources ship from (and reserve in) their own warehouse.", "Замовлення з цих джерел keyCRM відвантажуються (і резервуються) з власного складу.";
    source_id: "keyCRM source id", "ID джерела keyCRM";
    push_on_hand: "On hand", "Фактичний залишок";
    push_available: "Available (less reservations)", "Доступно (мінус резерви)";
    requests_per_minute: "keyCRM requests per minute", "Запитів до keyCRM за хвилину";
    update: "Update", "Оновити";
    not_saved: "Not saved", "Не збережено";
    none: "— none —", "— немає —";
    webhook_link: "Webhook link", "Посилання для вебхука";
    webhook_none: "No webhook link yet: press “Replace the link…” to make one.", "Посилання ще немає: натисніть «Замінити посилання…», щоб створити.";
    copy: "Copy", "Копіювати";
    copied: "Copied", "Скопійовано";
    rotate: "Replace the link…", "Замінити посилання…";
    health_key_rejected: "keyCRM rejected the saved key: sklad does no keyCRM work for this account until a working key is saved.",
        "keyCRM відхилив збережений ключ: sklad не звертається до keyCRM, доки не буде збережено робочий ключ.";
    health_misconfigured: "The keyCRM address answered like something that is not keyCRM's API.", "За адресою keyCRM відповідає не API keyCRM.";
    health_more: "Events sklad could not process, and keyCRM's request limit, are on the page",
        "Події, які sklad не зміг обробити, і ліміт запитів keyCRM — на сторінці";
    health_pushes_failing: "keyCRM warehouses whose stock pushes keep failing", "Склади keyCRM, куди не вдається надіслати залишки";
    sync_title: "Synchronize orders", "Синхронізувати замовлення";
    sync_hint: "Choose keyCRM statuses: every order in them is pulled into Customer Orders. New orders then arrive by the webhook.",
        "Оберіть статуси keyCRM: усі замовлення в них буде завантажено до «Замовлень покупців». Нові замовлення надходитимуть через вебхук.";
    sync_start: "Synchronize", "Синхронізувати";
    sync_jobs: "Synchronizations", "Синхронізації";
    sync_none: "Nothing synchronized yet.", "Ще нічого не синхронізовано.";
    statuses: "Statuses", "Статуси";
    pages: "Pages", "Сторінки";
    orders: "Orders", "Замовлення";
    cancel: "Cancel", "Скасувати";
    orders_title: "Customer Orders", "Замовлення покупців";
    orders_search: "keyCRM id, number or buyer", "ID keyCRM, номер або покупець";
    orders_show: "Show", "Показати";
    orders_any_status: "Any status", "Будь-який статус";
    orders_active: "Active", "Активні";
    orders_archived: "Archive", "Архів";
    orders_all: "All", "Усі";
    orders_empty_account: "No orders yet. Connect keyCRM, then synchronize orders or wait for the webhook.",
        "Замовлень ще немає. Підключіть keyCRM, потім синхронізуйте замовлення або дочекайтеся вебхука.";
    orders_none_match: "No order matches.", "Жодне замовлення не підходить.";
    search: "Search", "Шукати";
    keycrm_id: "keyCRM id", "ID keyCRM";
    status: "Status", "Статус";
    buyer: "Buyer", "Покупець";
    total_sum: "Total", "Сума";
    shipment: "Shipment", "Відвантаження";
    updated: "Updated", "Оновлено";
    archived: "archived", "в архіві";
    deleted_in_keycrm: "deleted in keyCRM", "видалено в keyCRM";
    order: "Order", "Замовлення";
    buyer_comment: "Buyer's comment", "Коментар покупця";
    lines: "Lines", "Рядки";
    product: "Product", "Товар";
    sku: "SKU", "Артикул";
    quantity: "Quantity", "Кількість";
    price: "Price", "Ціна";
    payments: "Payments", "Оплати";
    payments_none: "No payments.", "Оплат немає.";
    date: "Date", "Дата";
    amount: "Amount", "Сума";
    description: "Description", "Опис";
    production_orders: "Production orders", "Виробничі замовлення";
    keycrm_document: "keyCRM document", "Документ keyCRM";
    show_document: "Show as keyCRM sent it", "Показати, як надіслав keyCRM";
    previous: "Previous", "Попередня";
    next: "Next", "Наступна";
    page: "Page", "Сторінка";
    total: "Total", "Усього";
    warehouses_title: "Stock balances", "Залишки";
    warehouses_empty: "No warehouses yet: create the first one.", "Складів ще немає: створіть перший.";
    balances: "Balances", "Залишки";
    balances_empty: "Nothing in this warehouse yet.", "На цьому складі поки нічого немає.";
    balances_now: "Balances now", "Залишки зараз";
    on_hand: "On hand", "Фактично";
    reserved: "Reserved", "У резерві";
    available: "Available", "Доступно";
    new_warehouse: "New warehouse", "Новий склад";
    name: "Name", "Назва";
    allow_negative: "Allow negative balances", "Дозволити від'ємні залишки";
    create: "Create", "Створити";
    movements_title: "Movements", "Рухи";
    movements_empty: "No movements yet: record a receipt to put stock in.", "Рухів ще немає: оформіть надходження.";
    new_movement: "New movement", "Новий рух";
    new_receipt: "Receipt", "Надходження";
    new_write_off: "Write-off", "Списання";
    new_transfer: "Transfer", "Переміщення";
    new_inventory: "Inventory", "Інвентаризація";
    kind: "Kind", "Вид";
    warehouse: "Warehouse", "Склад";
    from_warehouse: "From warehouse", "Зі складу";
    to_warehouse: "To warehouse", "На склад";
    note: "Note", "Примітка";
    lines_hint: "One product per row: its SKU (type to search) and the quantity. Empty rows are skipped.",
        "Один товар на рядок: артикул (почніть вводити для пошуку) і кількість. Порожні рядки пропускаються.";
    inventory_hint: "Enter what you counted: the balance becomes that.", "Введіть, скільки нараховано: залишок стане таким.";
    counted: "Counted", "Нараховано";
    record: "Record", "Провести";
    change: "Change", "Зміна";
    balance_after: "Balance after", "Залишок після";
    products_title: "Products", "Номенклатура";
    products_search: "SKU or name", "Артикул або назва";
    products_empty: "No products yet: they arrive with keyCRM orders, or add one here.", "Товарів ще немає: вони приходять із замовленнями keyCRM, або додайте тут.";
    products_none_match: "No product matches.", "Жоден товар не підходить.";
    origin: "Origin", "Походження";
    new_product: "New product", "Новий товар";
    unit: "Unit", "Одиниця";
    unit_cost: "Unit cost", "Собівартість одиниці";
    properties: "Properties", "Властивості";
    product_no_balances: "No stock of this product anywhere.", "Цього товару немає на жодному складі.";
    edit: "Edit", "Редагувати";
    save: "Save", "Зберегти";
    stock_title: "Stock balances → keyCRM", "Залишки → keyCRM";
    send_stock: "Send stock balances to keyCRM", "Надсилати залишки в keyCRM";
    send_stock_hint: "As soon as a movement changes a balance, keyCRM receives the new quantity of each mapped keyCRM warehouse.",
        "Щойно рух змінює залишок, keyCRM отримує нову кількість для кожного зіставленого складу keyCRM.";
    keycrm_warehouses: "keyCRM warehouses", "Склади keyCRM";
    update_list: "Update the list", "Оновити список";
    working: "Working…", "Виконується…";
    keycrm_warehouses_empty: "No keyCRM warehouses known yet: update the list, or add one by hand (keyCRM lists only warehouses that hold stock).",
        "Склади keyCRM ще невідомі: оновіть список або додайте вручну (keyCRM показує лише склади із залишками).";
    add_by_hand: "Add by hand", "Додати вручну";
    mapping: "Warehouse mapping", "Зіставлення складів";
    stock_panel_hint: "“Update” saves the switch and the mapping together, as shown.", "«Оновити» зберігає перемикач і зіставлення разом, як показано.";
    mapping_hint: "Map each sklad warehouse to a keyCRM warehouse. Several sklad warehouses mapped to one keyCRM warehouse are summed: keyCRM receives their total.",
        "Зіставте кожен склад sklad зі складом keyCRM. Якщо кілька складів зіставлено з одним складом keyCRM, їхні залишки підсумовуються: keyCRM отримує суму.";
    keycrm_warehouse: "keyCRM warehouse", "Склад keyCRM";
    not_mapped: "— not sent —", "— не надсилати —";
    repairs: "Check and repair", "Перевірка та виправлення";
    repairs_hint: "Resync sends every mapped quantity again. Reconcile reads keyCRM's quantities and re-sends what differs. Preview shows what the next push would send.",
        "Повторна синхронізація надсилає всі кількості знову. Звірка читає кількості з keyCRM і повторно надсилає розбіжності. Попередній перегляд показує, що буде надіслано.";
    resync: "Resync", "Надіслати все знову";
    reconcile: "Reconcile", "Звірити";
    reconciled: "Reconciliation finished.", "Звірку завершено.";
    reconcile_checked: "SKUs checked", "Перевірено артикулів";
    keycrm_pages: "keyCRM pages read", "Прочитано сторінок keyCRM";
    drift: "Differences", "Розбіжності";
    drift_hint: "These SKUs are being sent to keyCRM again with sklad's quantities.", "Ці артикули знову надсилаються в keyCRM з кількостями sklad.";
    preview: "Preview", "Попередній перегляд";
    preview_hint: "What the next push would send each keyCRM warehouse; nothing is sent from here.", "Що наступне надсилання передасть кожному складу keyCRM; звідси нічого не надсилається.";
    preview_empty: "Nothing is mapped: map a warehouse first.", "Нічого не зіставлено: спочатку зіставте склад.";
    preview_nothing: "Nothing waits to be sent.", "Нічого не очікує надсилання.";
    read_back: "Compare with keyCRM (reads keyCRM)", "Порівняти з keyCRM (читає keyCRM)";
    will_send: "Will send", "Буде надіслано";
    last_accepted: "Last accepted", "Востаннє прийнято";
    in_keycrm: "In keyCRM", "У keyCRM";
    unchanged: "Unchanged", "Без змін";
    push_log: "Push log", "Журнал надсилань";
    push_log_empty: "Nothing sent to keyCRM yet.", "У keyCRM ще нічого не надсилалося.";
    items: "Items", "Позицій";
    outcome: "Outcome", "Результат";
    answer: "Answer", "Відповідь";
    unknown: "—", "—";
    line: "Line", "Рядок";
    note_order: "A customer order's shipment, return or correction", "Відвантаження, повернення чи коригування замовлення покупця";
    note_production: "Made by a production order", "Виготовлено за виробничим замовленням";
    payment_paid: "paid", "оплачено";
    payment_not_paid: "not paid", "не оплачено";
    payment_part_paid: "partly paid", "частково оплачено";
    payment_overpaid: "overpaid", "переплачено";
    payment_canceled: "cancelled", "скасовано";
    push_buffer: "Safety stock", "Страховий запас";
    err_negative_balance: "{sku} in “{warehouse}” would drop to {balance}; this warehouse does not allow negative balances.",
        "{sku} на складі «{warehouse}» впав би до {balance}; цей склад не дозволяє від'ємних залишків.";
    err_unknown_sku: "Line {line}: there is no product with SKU {sku}.", "Рядок {line}: немає товару з артикулом {sku}.";
    err_no_lines: "Add at least one line: a SKU and a quantity.", "Додайте хоча б один рядок: артикул і кількість.";
    err_quantity_not_positive: "Line {line}: the quantity must be greater than zero.", "Рядок {line}: кількість має бути більшою за нуль.";
    err_count_negative: "Line {line}: a counted quantity cannot be negative.", "Рядок {line}: пораховану кількість не можна вказати від'ємною.";
    err_same_warehouse: "A transfer needs two different warehouses.", "Для переміщення потрібні два різні склади.";
    err_missing_warehouse: "Choose the warehouse.", "Виберіть склад.";
    err_too_many_lines: "A movement has at most 10 000 lines.", "Рух має щонайбільше 10 000 рядків.";
    err_quantity_out_of_range: "Line {line}: a quantity has at most 14 digits before the point and 4 after.",
        "Рядок {line}: кількість має щонайбільше 14 цифр до коми і 4 після.";
    err_invalid_number: "“{value}” is not a number: write it like 2.5 or 2,5.", "«{value}» — не число: пишіть, наприклад, 2,5 або 2.5.";
    err_already_reversed: "This movement was already reversed.", "Цей рух уже сторновано.";
    err_reverse_through_document: "This movement belongs to an order or a production order: undo it there.",
        "Цей рух належить замовленню або виробничому замовленню: скасуйте його там.";
    err_already_shipped: "The order was already shipped.", "Замовлення вже відвантажено.";
    err_already_returned: "The order was already returned.", "Замовлення вже повернуто.";
    err_sku_exists: "A product with this SKU already exists.", "Товар із таким артикулом уже існує.";
    err_warehouse_exists: "A warehouse with this name already exists.", "Склад із такою назвою вже існує.";
    err_keycrm_wrong_url: "This address did not answer as keyCRM does: check the address.", "Ця адреса відповіла не так, як keyCRM: перевірте адресу.";
    err_keycrm_not_allowed: "This keyCRM address is not allowed on this sklad; ask its administrator.", "Ця адреса keyCRM не дозволена в цьому sklad; зверніться до адміністратора.";
    err_keycrm_not_configured: "Save a keyCRM API key in Integrations → keyCRM first.", "Спершу збережіть ключ API keyCRM в Інтеграції → keyCRM.";
    err_keycrm_budget_spent: "keyCRM's request limit for this key is spent for now; try again in a minute.", "Ліміт запитів keyCRM для цього ключа вичерпано; спробуйте за хвилину.";
    err_keycrm_unavailable: "keyCRM did not answer usefully; try again later.", "keyCRM не відповів як слід; спробуйте пізніше.";
    err_sync_job_running: "A synchronization is already running; wait for it or cancel it.", "Синхронізація вже триває; дочекайтеся її або скасуйте.";
    err_short_of_stock: "Not enough in “{warehouse}” (needed / on hand): {lines}.", "Бракує на складі «{warehouse}» (потрібно / є): {lines}.";
    err_short_components: "Not enough components in stock for this.", "Для цього на складі бракує компонентів.";
    err_bom_cycle: "A component cannot contain the product it is part of.", "Компонент не може містити товар, до якого входить.";
    err_wrong_state: "This cannot be done in the order's present state.", "У поточному стані замовлення цього зробити не можна.";
    err_last_token: "The last working admin token cannot be revoked.", "Останній робочий токен адміністратора не можна відкликати.";
    err_edited_meanwhile: "Someone else changed this while you were editing. Here it is as it is now: make your change again.", "Хтось інший змінив це, поки ви редагували. Ось як воно є зараз: внесіть свою зміну ще раз.";
    err_not_found: "Not found: it does not exist or belongs to another account.", "Не знайдено: його немає або воно належить іншому обліковому запису.";
    err_unavailable: "sklad cannot do this right now; try again in a moment.", "sklad зараз не може цього зробити; спробуйте за хвилину.";
    err_conflict: "This clashes with what is stored now; reload the page and try again.", "Це суперечить збереженому стану; оновіть сторінку й спробуйте ще раз.";
    err_check_values: "Check the values entered.", "Перевірте введені значення.";
    err_field: "Check this value: {field}.", "Перевірте це значення: {field}.";
    state_not_shipped: "Not shipped", "Не відвантажено";
    state_reserved: "Reserved", "Зарезервовано";
    state_waiting: "Waiting for stock", "Очікує товар";
    state_shipped: "Shipped", "Відвантажено";
    state_returned: "Returned", "Повернено";
    job_queued: "Queued", "У черзі";
    job_running: "Running", "Виконується";
    job_done: "Done", "Завершено";
    job_failed: "Failed", "Помилка";
    job_cancelled: "Cancelled", "Скасовано";
    kind_receipt: "Receipt", "Надходження";
    kind_write_off: "Write-off", "Списання";
    kind_transfer: "Transfer", "Переміщення";
    kind_inventory: "Inventory", "Інвентаризація";
    kind_shipment: "Shipment", "Відвантаження";
    kind_return: "Return", "Повернення";
    kind_correction: "Correction", "Коригування";
    kind_production: "Production", "Виробництво";
    kind_reversal: "Reversal", "Сторнування";
    reverse: "Reverse…", "Сторнувати…";
    reverses: "This reversal undoes", "Це сторнування скасовує";
    the_original: "the original movement", "початковий рух";
    reversed_by: "This movement was undone by", "Цей рух скасовано";
    the_reversal: "its reversal", "сторнуванням";
    reverse_confirm_title: "Reverse this movement?", "Сторнувати цей рух?";
    reverse_confirm_hint: "A new movement takes back every change below. This movement stays in the history; keyCRM receives the new balances. It can be done once.",
        "Новий рух поверне кожну зміну нижче. Цей рух лишиться в історії; keyCRM отримає нові залишки. Це можна зробити один раз.";
    reverse_confirm: "Yes, reverse it", "Так, сторнувати";
    push_accepted: "Accepted", "Прийнято";
    push_rejected: "Rejected", "Відхилено";
    origin_keycrm_offer: "keyCRM", "keyCRM";
    origin_keycrm_one_time: "keyCRM (one-time)", "keyCRM (разовий)";
    origin_manual: "Added by hand", "Додано вручну";
    production_planned: "Planned", "Заплановано";
    production_released: "Released", "Запущено";
    production_title: "Production", "Виробництво";
    production_all: "All states", "Усі стани";
    production_empty: "No production orders yet: give a product a bill of materials (on its page), then plan one below.",
        "Виробничих замовлень ще немає: задайте товару специфікацію (на його сторінці), потім заплануйте нижче.";
    made: "Made", "Виготовлено";
    component_warehouse: "Components from", "Компоненти зі складу";
    output_warehouse: "Output to", "Продукція на склад";
    due_date: "Due", "Термін";
    plan_sub_assemblies: "plan missing sub-assemblies", "запланувати відсутні напівфабрикати";
    release: "Release", "Запустити";
    close_order: "close", "закрити";
    complete: "Record made", "Провести виготовлене";
    plan_production: "Plan production", "Запланувати виробництво";
    plan_hint: "The product needs a bill of materials. Releasing reserves its components; recording what was made moves them in one production movement.",
        "Товару потрібна специфікація. Запуск резервує компоненти; проведення виготовленого списує їх одним рухом «виробництво».";
    plan: "Plan", "Запланувати";
    bom: "Bill of materials", "Специфікація";
    bom_version: "Version", "Версія";
    output_quantity: "Makes", "Виходить";
    cost_per_unit: "cost per unit", "собівартість одиниці";
    makeable: "Can be made now", "Можна виготовити зараз";
    bom_none: "No bill of materials: list its components below to make it here.", "Специфікації немає: вкажіть компоненти нижче, щоб виготовляти товар.";
    save_bom: "Save as a new version", "Зберегти як нову версію";
    status_title: "Status", "Стан";
    status_integration: "keyCRM integration", "Інтеграція з keyCRM";
    status_ok: "Working.", "Працює.";
    status_disabled: "The integration is off.", "Інтеграцію вимкнено.";
    budget: "keyCRM request budget", "Ліміт запитів до keyCRM";
    per_minute: "requests a minute", "запитів за хвилину";
    booked_ahead: "booked ahead", "заплановано наперед";
    granted_total: "requests made", "зроблено запитів";
    seconds: "s", "с";
    budget_hint: "Requests per minute this API key may make, shared by every sklad process.", "Запитів за хвилину для цього API-ключа, спільно для всіх процесів sklad.";
    last_reconcile: "Last reconciliation with keyCRM", "Остання звірка з keyCRM";
    never: "never", "ще не було";
    waiting_shipments: "Orders waiting for stock", "Замовлення, що очікують товар";
    dirty_skus: "SKUs waiting to be sent to keyCRM", "Артикули, що очікують надсилання в keyCRM";
    queues: "Queues (the whole installation)", "Черги (уся інсталяція)";
    queue: "Queue", "Черга";
    messages: "Messages", "Повідомлень";
    consumers: "Readers", "Обробників";
    broker_down: "RabbitMQ could not be asked", "Не вдалося звернутися до RabbitMQ";
    parked: "Parked messages of this account", "Відкладені повідомлення цього акаунта";
    parked_none: "Nothing parked.", "Нічого не відкладено.";
    parked_hint: "A message is parked after it failed every attempt; its reason is kept. Replay sends this account's parked messages back to be tried again.",
        "Повідомлення відкладається після невдачі всіх спроб; причину збережено. «Повторити» повертає відкладені повідомлення цього акаунта на обробку.";
    reason: "Reason", "Причина";
    subject: "Subject", "Об'єкт";
    replay: "Replay all", "Повторити всі";
    replay_one: "Replay", "Повторити";
    done_saved: "Saved.", "Збережено.";
    done_rotated: "New webhook link issued: paste it into keyCRM's automation; the old one no longer works.",
        "Створено нове посилання для вебхука: вставте його в автоматизацію keyCRM; старе більше не працює.";
    done_sync_started: "Synchronization started.", "Синхронізацію розпочато.";
    done_sync_cancelled: "Synchronization cancelled.", "Синхронізацію скасовано.";
    done_warehouse_created: "Warehouse created.", "Склад створено.";
    done_movement_recorded: "Recorded. The balances below are what the warehouse holds now.", "Проведено. Нижче — залишки на складі зараз.";
    done_product_saved: "Product saved.", "Товар збережено.";
    done_list_updated: "The list of keyCRM warehouses is up to date.", "Список складів keyCRM оновлено.";
    done_mapping_saved: "Mapping saved: changed sums are being sent to keyCRM.", "Зіставлення збережено: змінені суми надсилаються в keyCRM.";
    done_resync_started: "Every mapped quantity will be sent again.", "Усі кількості буде надіслано знову.";
    done_production_planned: "Production planned.", "Виробництво заплановано.";
    done_production_released: "Released: its components are reserved.", "Запущено: компоненти зарезервовано.";
    done_production_cancelled: "Production order cancelled.", "Виробниче замовлення скасовано.";
    done_bom_saved: "Bill of materials saved as a new version.", "Специфікацію збережено як нову версію.";
    done_movement_reversed: "Reversed: the balances are back as they were before that movement.", "Сторновано: залишки повернулися до стану перед тим рухом.";
    done_stock_saved: "Saved: sending and the mapping are as shown.", "Збережено: надсилання і зіставлення такі, як показано.";
    done_replayed: "Parked messages sent back to be tried again:", "Відкладених повідомлень повернуто на обробку:";
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn negotiates_by_weight_then_order() {
        assert_eq!(Lang::negotiate("uk-UA,uk;q=0.9,en;q=0.8"), Lang::Uk);
        assert_eq!(Lang::negotiate("en-US,en;q=0.9,uk;q=0.8"), Lang::En);
        assert_eq!(Lang::negotiate("de-DE,uk;q=0.5,en;q=0.7"), Lang::En);
        assert_eq!(Lang::negotiate("de,fr"), Lang::En);
        assert_eq!(Lang::negotiate("ru,uk;q=0.9"), Lang::Uk);
        assert_eq!(Lang::negotiate(""), Lang::En);
        assert_eq!(Lang::negotiate("uk;q=0"), Lang::En);
    }

    #[test]
    fn every_done_message_exists_in_both_languages() {
        for name in ["saved", "rotated", "sync_started", "mapping_saved"] {
            assert!(Lang::En.text().done(name).is_some());
            assert!(Lang::Uk.text().done(name).is_some());
        }
        assert!(Lang::En.text().done("<script>").is_none());
    }
}
