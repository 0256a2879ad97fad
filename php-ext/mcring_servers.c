/*
 * McRing\Client methods about servers rather than keys: placement, the
 * server list, flush, memcached's statistics and versions, health probes,
 * and the client's own counters.
 *
 * libmcring reports per server through callbacks; see mcring_report.h.
 */
#include "mcring_client.h"
#include "mcring_report.h"

#include "zend_exceptions.h"

/* The outcome of a report-making call: its status, or an out-of-memory. */
static void report_result(mcring_object *o, mcring_status status, const report *r)
{
	if (status == MCRING_OK && r->out_of_memory) {
		mcring_result_message(o, MCRING_INTERNAL_ERROR,
			zend_string_init(ZEND_STRL("out of memory while copying a server's report"), 0));
		return;
	}
	mcring_result(o, status);
}

/* The array under `name` in `array`, made empty if new. */
static zval *sub_array(zval *array, const char *name)
{
	zval *sub = zend_symtable_str_find(Z_ARRVAL_P(array), name, strlen(name));
	if (sub == NULL) {
		zval fresh;
		array_init(&fresh);
		sub = zend_symtable_str_update(Z_ARRVAL_P(array), name, strlen(name), &fresh);
	}
	return sub;
}

static void add_server(zval *array, const mcring_server *info)
{
	array_init_size(array, 3);
	add_assoc_string(array, "host", info->host);
	add_assoc_long(array, "port", (zend_long) info->port);
	add_assoc_long(array, "weight", (zend_long) info->weight);
}

PHP_METHOD(McRing_Client, getServerByKey)
{
	zend_string *key;
	ZEND_PARSE_PARAMETERS_START(1, 1)
		Z_PARAM_STR(key)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	/* Computed only, as php-memcached's: no connection is made. */
	size_t index = 0;
	mcring_server info;
	mcring_status status =
		mcring_server_index_for_key(o->client, ZSTR_VAL(key), ZSTR_LEN(key), &index);
	if (status == MCRING_OK) {
		status = mcring_server_info(o->client, index, &info);
	}
	mcring_result(o, status);
	if (status != MCRING_OK) {
		RETURN_FALSE;
	}
	add_server(return_value, &info);
}

PHP_METHOD(McRing_Client, getServerList)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	size_t count = mcring_server_count(o->client);
	array_init_size(return_value, (uint32_t) count);
	for (size_t i = 0; i < count; i++) {
		mcring_server info;
		if (mcring_server_info(o->client, i, &info) == MCRING_OK) {
			zval server;
			add_server(&server, &info);
			add_next_index_zval(return_value, &server);
		}
	}
	mcring_result(o, MCRING_OK);
}

PHP_METHOD(McRing_Client, flush)
{
	zend_long delay = 0;
	ZEND_PARSE_PARAMETERS_START(0, 1)
		Z_PARAM_OPTIONAL
		Z_PARAM_LONG(delay)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	uint32_t delay_seconds;
	if (o == NULL || !mcring_seconds_arg(delay, 1, &delay_seconds)) {
		RETURN_THROWS();
	}
	mcring_status status = mcring_flush_all(o->client, delay_seconds);
	mcring_result(o, status);
	RETURN_BOOL(status == MCRING_OK);
}

static void on_stat(void *userdata, const char *server, const char *name, const char *value)
{
	report_add(userdata, server, name, value, 0, 0);
}

/* A statistic as PHP sees numbers: "42" an int, "0.5" a float. */
static void add_stat(zval *stats, const char *name, const char *value)
{
	size_t len = strlen(value);
	zend_long l;
	double d;
	switch (is_numeric_string(value, len, &l, &d, false)) {
	case IS_LONG: add_assoc_long(stats, name, l); break;
	case IS_DOUBLE: add_assoc_double(stats, name, d); break;
	default: add_assoc_stringl(stats, name, value, len); break;
	}
}

PHP_METHOD(McRing_Client, getStats)
{
	zend_string *type = NULL;
	ZEND_PARSE_PARAMETERS_START(0, 1)
		Z_PARAM_OPTIONAL
		Z_PARAM_STR_OR_NULL(type)
	ZEND_PARSE_PARAMETERS_END();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	if (type != NULL && memchr(ZSTR_VAL(type), '\0', ZSTR_LEN(type)) != NULL) {
		zend_argument_value_error(1, "must not contain any null bytes");
		RETURN_THROWS();
	}
	report r = {0};
	mcring_status status =
		mcring_server_stats(o->client, type != NULL ? ZSTR_VAL(type) : NULL, on_stat, &r);
	report_result(o, status, &r);
	/* Servers that answered: "host:port" => [name => value]. */
	array_init(return_value);
	for (size_t i = 0; i < r.len; i++) {
		const report_row *row = &r.rows[i];
		if (row->text[0] != NULL && row->text[1] != NULL && row->text[2] != NULL) {
			add_stat(sub_array(return_value, row->text[0]), row->text[1], row->text[2]);
		}
	}
	report_free(&r);
}

static void on_version(void *userdata, const char *server, mcring_status status,
	const char *version_or_error)
{
	report_add(userdata, server, version_or_error, NULL, (int64_t) status, 0);
}

PHP_METHOD(McRing_Client, getVersion)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	report r = {0};
	mcring_status status = mcring_server_versions(o->client, on_version, &r);
	report_result(o, status, &r);
	array_init(return_value);
	for (size_t i = 0; i < r.len; i++) {
		const report_row *row = &r.rows[i];
		if (row->text[0] == NULL) {
			continue;
		}
		zval version;
		if (row->number[0] == MCRING_OK && row->text[1] != NULL) {
			ZVAL_STRING(&version, row->text[1]);
		} else {
			ZVAL_FALSE(&version);
		}
		zend_symtable_str_update(Z_ARRVAL_P(return_value), row->text[0], strlen(row->text[0]),
			&version);
	}
	report_free(&r);
}

static void on_health(void *userdata, const char *server, mcring_status status,
	uint64_t latency_us, const char *error)
{
	report_add(userdata, server, error, NULL, (int64_t) status,
		latency_us > INT64_MAX ? INT64_MAX : (int64_t) latency_us);
}

PHP_METHOD(McRing_Client, getHealth)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	report r = {0};
	mcring_status status = mcring_health(o->client, on_health, &r);
	report_result(o, status, &r);
	array_init(return_value);
	for (size_t i = 0; i < r.len; i++) {
		const report_row *row = &r.rows[i];
		if (row->text[0] == NULL) {
			continue;
		}
		zval health;
		array_init_size(&health, 4);
		add_assoc_bool(&health, "alive", row->number[0] == MCRING_OK);
		add_assoc_long(&health, "result_code", (zend_long) mcring_res_of((mcring_status) row->number[0]));
		add_assoc_long(&health, "latency_us", (zend_long) row->number[1]);
		add_assoc_string(&health, "error", row->text[1] != NULL ? row->text[1] : "");
		zend_symtable_str_update(Z_ARRVAL_P(return_value), row->text[0], strlen(row->text[0]),
			&health);
	}
	report_free(&r);
}

/* Counters by the names every mcring binding uses. */
static void add_counters(zval *array, const mcring_counters *counters)
{
	array_init(array);
	for (size_t field = 0; mcring_counter_name(field) != NULL; field++) {
		uint64_t value = mcring_counters_value(counters, field);
		add_assoc_long(array, mcring_counter_name(field),
			value > ZEND_LONG_MAX ? ZEND_LONG_MAX : (zend_long) value);
	}
}

/* One latency histogram: ['count' => n, 'sum' => seconds, 'buckets' =>
   [[upper bound in seconds, cumulative count], ...]], as Prometheus' `le`
   buckets, INF last. */
static void add_histogram(zval *array, const mcring_histogram *h)
{
	array_init_size(array, 3);
	zval buckets;
	array_init_size(&buckets, MCRING_LATENCY_BUCKETS);
	uint64_t cumulative = 0;
	for (size_t b = 0; b < MCRING_LATENCY_BUCKETS; b++) {
		cumulative += h->counts[b];
		zval bucket;
		array_init_size(&bucket, 2);
		add_next_index_double(&bucket, mcring_latency_bound(b));
		add_next_index_long(&bucket, cumulative > ZEND_LONG_MAX ? ZEND_LONG_MAX : (zend_long) cumulative);
		add_next_index_zval(&buckets, &bucket);
	}
	add_assoc_long(array, "count", h->count > ZEND_LONG_MAX ? ZEND_LONG_MAX : (zend_long) h->count);
	add_assoc_double(array, "sum", (double) h->sum_ns / 1e9);
	add_assoc_zval(array, "buckets", &buckets);
}

PHP_METHOD(McRing_Client, getClientStats)
{
	ZEND_PARSE_PARAMETERS_NONE();
	mcring_object *o = mcring_this(ZEND_THIS);
	if (o == NULL) {
		RETURN_THROWS();
	}
	mcring_stats *stats = NULL;
	mcring_status status = mcring_stats_get(o->client, &stats);
	mcring_result(o, status);
	array_init_size(return_value, 4);
	if (status != MCRING_OK) {
		return;
	}
	zval total, servers, latency;
	add_counters(&total, mcring_stats_total(stats));
	add_assoc_zval(return_value, "total", &total);
	array_init(&servers);
	for (size_t i = 0; i < mcring_stats_server_count(stats); i++) {
		zval counters;
		add_counters(&counters, mcring_stats_server(stats, i));
		const char *name = mcring_stats_server_name(stats, i);
		zend_symtable_str_update(Z_ARRVAL(servers), name, strlen(name), &counters);
	}
	add_assoc_zval(return_value, "servers", &servers);
	/* ['latency' => ["host:port" => [class => histogram]]]. */
	array_init(&latency);
	for (size_t i = 0; i < mcring_stats_server_count(stats); i++) {
		zval classes;
		array_init_size(&classes, MCRING_COMMAND_CLASSES);
		for (size_t c = 0; mcring_command_class_name(c) != NULL; c++) {
			zval h;
			add_histogram(&h, mcring_stats_latency(stats, i, c));
			add_assoc_zval(&classes, mcring_command_class_name(c), &h);
		}
		const char *name = mcring_stats_server_name(stats, i);
		zend_symtable_str_update(Z_ARRVAL(latency), name, strlen(name), &classes);
	}
	add_assoc_zval(return_value, "latency", &latency);
	mcring_stats_free(stats);
	/* ['hot_keys' => getHotKeys()]: [] unless hot_keys=N counts reads. */
	zval hot;
	mcring_hot_keys_array(o->client, &hot);
	add_assoc_zval(return_value, "hot_keys", &hot);
}
