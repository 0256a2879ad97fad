/* This is a generated file, edit the .stub.php file instead.
 * Stub hash: 7e5c205ffa80bfe86e594bf810d1b80a57b4712e */

ZEND_BEGIN_ARG_INFO_EX(arginfo_class_McRing_Client___construct, 0, 0, 1)
	ZEND_ARG_TYPE_MASK(0, servers, MAY_BE_STRING|MAY_BE_ARRAY, NULL)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, options, IS_ARRAY, 0, "[]")
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, persistent_id, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_get, 0, 1, IS_MIXED, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_MASK_EX(arginfo_class_McRing_Client_gets, 0, 1, MAY_BE_ARRAY|MAY_BE_FALSE)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_set, 0, 2, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, value, IS_MIXED, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, ttl, IS_LONG, 0, "0")
ZEND_END_ARG_INFO()

#define arginfo_class_McRing_Client_add arginfo_class_McRing_Client_set

#define arginfo_class_McRing_Client_replace arginfo_class_McRing_Client_set

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_cas, 0, 3, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, cas, IS_LONG, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, value, IS_MIXED, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, ttl, IS_LONG, 0, "0")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_append, 0, 2, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, value, IS_STRING, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_McRing_Client_prepend arginfo_class_McRing_Client_append

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_delete, 0, 1, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_MASK_EX(arginfo_class_McRing_Client_increment, 0, 1, MAY_BE_LONG|MAY_BE_FALSE)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, by, IS_LONG, 0, "1")
ZEND_END_ARG_INFO()

#define arginfo_class_McRing_Client_decrement arginfo_class_McRing_Client_increment

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_touch, 0, 1, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, key, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, ttl, IS_LONG, 0, "0")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_getMulti, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, keys, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_setMulti, 0, 1, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO(0, items, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, ttl, IS_LONG, 0, "0")
ZEND_END_ARG_INFO()

#define arginfo_class_McRing_Client_deleteMulti arginfo_class_McRing_Client_getMulti

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_flush, 0, 0, _IS_BOOL, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, delay, IS_LONG, 0, "0")
ZEND_END_ARG_INFO()

#define arginfo_class_McRing_Client_getServerByKey arginfo_class_McRing_Client_gets

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_getServerList, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_getStats, 0, 0, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, type, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

#define arginfo_class_McRing_Client_getClientStats arginfo_class_McRing_Client_getServerList

#define arginfo_class_McRing_Client_getVersion arginfo_class_McRing_Client_getServerList

#define arginfo_class_McRing_Client_getHealth arginfo_class_McRing_Client_getServerList

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_getResultCode, 0, 0, IS_LONG, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_getResultMessage, 0, 0, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_class_McRing_Client_isPersistent, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

#define arginfo_class_McRing_Client_isPristine arginfo_class_McRing_Client_isPersistent

#define arginfo_class_McRing_Client_close arginfo_class_McRing_Client_isPersistent


ZEND_METHOD(McRing_Client, __construct);
ZEND_METHOD(McRing_Client, get);
ZEND_METHOD(McRing_Client, gets);
ZEND_METHOD(McRing_Client, set);
ZEND_METHOD(McRing_Client, add);
ZEND_METHOD(McRing_Client, replace);
ZEND_METHOD(McRing_Client, cas);
ZEND_METHOD(McRing_Client, append);
ZEND_METHOD(McRing_Client, prepend);
ZEND_METHOD(McRing_Client, delete);
ZEND_METHOD(McRing_Client, increment);
ZEND_METHOD(McRing_Client, decrement);
ZEND_METHOD(McRing_Client, touch);
ZEND_METHOD(McRing_Client, getMulti);
ZEND_METHOD(McRing_Client, setMulti);
ZEND_METHOD(McRing_Client, deleteMulti);
ZEND_METHOD(McRing_Client, flush);
ZEND_METHOD(McRing_Client, getServerByKey);
ZEND_METHOD(McRing_Client, getServerList);
ZEND_METHOD(McRing_Client, getStats);
ZEND_METHOD(McRing_Client, getClientStats);
ZEND_METHOD(McRing_Client, getVersion);
ZEND_METHOD(McRing_Client, getHealth);
ZEND_METHOD(McRing_Client, getResultCode);
ZEND_METHOD(McRing_Client, getResultMessage);
ZEND_METHOD(McRing_Client, isPersistent);
ZEND_METHOD(McRing_Client, isPristine);
ZEND_METHOD(McRing_Client, close);


static const zend_function_entry class_McRing_Client_methods[] = {
	ZEND_ME(McRing_Client, __construct, arginfo_class_McRing_Client___construct, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, get, arginfo_class_McRing_Client_get, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, gets, arginfo_class_McRing_Client_gets, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, set, arginfo_class_McRing_Client_set, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, add, arginfo_class_McRing_Client_add, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, replace, arginfo_class_McRing_Client_replace, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, cas, arginfo_class_McRing_Client_cas, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, append, arginfo_class_McRing_Client_append, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, prepend, arginfo_class_McRing_Client_prepend, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, delete, arginfo_class_McRing_Client_delete, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, increment, arginfo_class_McRing_Client_increment, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, decrement, arginfo_class_McRing_Client_decrement, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, touch, arginfo_class_McRing_Client_touch, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, getMulti, arginfo_class_McRing_Client_getMulti, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, setMulti, arginfo_class_McRing_Client_setMulti, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, deleteMulti, arginfo_class_McRing_Client_deleteMulti, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, flush, arginfo_class_McRing_Client_flush, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, getServerByKey, arginfo_class_McRing_Client_getServerByKey, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, getServerList, arginfo_class_McRing_Client_getServerList, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, getStats, arginfo_class_McRing_Client_getStats, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, getClientStats, arginfo_class_McRing_Client_getClientStats, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, getVersion, arginfo_class_McRing_Client_getVersion, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, getHealth, arginfo_class_McRing_Client_getHealth, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, getResultCode, arginfo_class_McRing_Client_getResultCode, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, getResultMessage, arginfo_class_McRing_Client_getResultMessage, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, isPersistent, arginfo_class_McRing_Client_isPersistent, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, isPristine, arginfo_class_McRing_Client_isPristine, ZEND_ACC_PUBLIC)
	ZEND_ME(McRing_Client, close, arginfo_class_McRing_Client_close, ZEND_ACC_PUBLIC)
	ZEND_FE_END
};


static const zend_function_entry class_McRing_Exception_methods[] = {
	ZEND_FE_END
};

static zend_class_entry *register_class_McRing_Client(void)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "McRing", "Client", class_McRing_Client_methods);
	class_entry = zend_register_internal_class_ex(&ce, NULL);
	class_entry->ce_flags |= ZEND_ACC_NO_DYNAMIC_PROPERTIES|ZEND_ACC_NOT_SERIALIZABLE;

	zval const_RES_SUCCESS_value;
	ZVAL_LONG(&const_RES_SUCCESS_value, MCRING_OK);
	zend_string *const_RES_SUCCESS_name = zend_string_init_interned("RES_SUCCESS", sizeof("RES_SUCCESS") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_SUCCESS_name, &const_RES_SUCCESS_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_SUCCESS_name);

	zval const_RES_NOTFOUND_value;
	ZVAL_LONG(&const_RES_NOTFOUND_value, MCRING_NOT_FOUND);
	zend_string *const_RES_NOTFOUND_name = zend_string_init_interned("RES_NOTFOUND", sizeof("RES_NOTFOUND") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_NOTFOUND_name, &const_RES_NOTFOUND_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_NOTFOUND_name);

	zval const_RES_NOTSTORED_value;
	ZVAL_LONG(&const_RES_NOTSTORED_value, MCRING_NOT_STORED);
	zend_string *const_RES_NOTSTORED_name = zend_string_init_interned("RES_NOTSTORED", sizeof("RES_NOTSTORED") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_NOTSTORED_name, &const_RES_NOTSTORED_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_NOTSTORED_name);

	zval const_RES_EXISTS_value;
	ZVAL_LONG(&const_RES_EXISTS_value, MCRING_EXISTS);
	zend_string *const_RES_EXISTS_name = zend_string_init_interned("RES_EXISTS", sizeof("RES_EXISTS") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_EXISTS_name, &const_RES_EXISTS_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_EXISTS_name);

	zval const_RES_BAD_KEY_value;
	ZVAL_LONG(&const_RES_BAD_KEY_value, MCRING_BAD_KEY);
	zend_string *const_RES_BAD_KEY_name = zend_string_init_interned("RES_BAD_KEY", sizeof("RES_BAD_KEY") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_BAD_KEY_name, &const_RES_BAD_KEY_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_BAD_KEY_name);

	zval const_RES_BAD_VALUE_value;
	ZVAL_LONG(&const_RES_BAD_VALUE_value, MCRING_BAD_VALUE);
	zend_string *const_RES_BAD_VALUE_name = zend_string_init_interned("RES_BAD_VALUE", sizeof("RES_BAD_VALUE") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_BAD_VALUE_name, &const_RES_BAD_VALUE_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_BAD_VALUE_name);

	zval const_RES_BAD_CONFIG_value;
	ZVAL_LONG(&const_RES_BAD_CONFIG_value, MCRING_BAD_CONFIG);
	zend_string *const_RES_BAD_CONFIG_name = zend_string_init_interned("RES_BAD_CONFIG", sizeof("RES_BAD_CONFIG") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_BAD_CONFIG_name, &const_RES_BAD_CONFIG_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_BAD_CONFIG_name);

	zval const_RES_INVALID_ARGUMENT_value;
	ZVAL_LONG(&const_RES_INVALID_ARGUMENT_value, MCRING_INVALID_ARGUMENT);
	zend_string *const_RES_INVALID_ARGUMENT_name = zend_string_init_interned("RES_INVALID_ARGUMENT", sizeof("RES_INVALID_ARGUMENT") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_INVALID_ARGUMENT_name, &const_RES_INVALID_ARGUMENT_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_INVALID_ARGUMENT_name);

	zval const_RES_TIMEOUT_value;
	ZVAL_LONG(&const_RES_TIMEOUT_value, MCRING_TIMEOUT);
	zend_string *const_RES_TIMEOUT_name = zend_string_init_interned("RES_TIMEOUT", sizeof("RES_TIMEOUT") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_TIMEOUT_name, &const_RES_TIMEOUT_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_TIMEOUT_name);

	zval const_RES_CONNECTION_ERROR_value;
	ZVAL_LONG(&const_RES_CONNECTION_ERROR_value, MCRING_CONNECTION_ERROR);
	zend_string *const_RES_CONNECTION_ERROR_name = zend_string_init_interned("RES_CONNECTION_ERROR", sizeof("RES_CONNECTION_ERROR") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_CONNECTION_ERROR_name, &const_RES_CONNECTION_ERROR_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_CONNECTION_ERROR_name);

	zval const_RES_SERVER_ERROR_value;
	ZVAL_LONG(&const_RES_SERVER_ERROR_value, MCRING_SERVER_ERROR);
	zend_string *const_RES_SERVER_ERROR_name = zend_string_init_interned("RES_SERVER_ERROR", sizeof("RES_SERVER_ERROR") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_SERVER_ERROR_name, &const_RES_SERVER_ERROR_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_SERVER_ERROR_name);

	zval const_RES_PROTOCOL_ERROR_value;
	ZVAL_LONG(&const_RES_PROTOCOL_ERROR_value, MCRING_PROTOCOL_ERROR);
	zend_string *const_RES_PROTOCOL_ERROR_name = zend_string_init_interned("RES_PROTOCOL_ERROR", sizeof("RES_PROTOCOL_ERROR") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_PROTOCOL_ERROR_name, &const_RES_PROTOCOL_ERROR_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_PROTOCOL_ERROR_name);

	zval const_RES_NO_SERVERS_value;
	ZVAL_LONG(&const_RES_NO_SERVERS_value, MCRING_NO_SERVERS);
	zend_string *const_RES_NO_SERVERS_name = zend_string_init_interned("RES_NO_SERVERS", sizeof("RES_NO_SERVERS") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_NO_SERVERS_name, &const_RES_NO_SERVERS_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_NO_SERVERS_name);

	zval const_RES_BUFFER_TOO_SMALL_value;
	ZVAL_LONG(&const_RES_BUFFER_TOO_SMALL_value, MCRING_BUFFER_TOO_SMALL);
	zend_string *const_RES_BUFFER_TOO_SMALL_name = zend_string_init_interned("RES_BUFFER_TOO_SMALL", sizeof("RES_BUFFER_TOO_SMALL") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_BUFFER_TOO_SMALL_name, &const_RES_BUFFER_TOO_SMALL_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_BUFFER_TOO_SMALL_name);

	zval const_RES_INTERNAL_ERROR_value;
	ZVAL_LONG(&const_RES_INTERNAL_ERROR_value, MCRING_INTERNAL_ERROR);
	zend_string *const_RES_INTERNAL_ERROR_name = zend_string_init_interned("RES_INTERNAL_ERROR", sizeof("RES_INTERNAL_ERROR") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_INTERNAL_ERROR_name, &const_RES_INTERNAL_ERROR_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_INTERNAL_ERROR_name);

	zval const_RES_STORED_ELSEWHERE_value;
	ZVAL_LONG(&const_RES_STORED_ELSEWHERE_value, MCRING_STORED_ELSEWHERE);
	zend_string *const_RES_STORED_ELSEWHERE_name = zend_string_init_interned("RES_STORED_ELSEWHERE", sizeof("RES_STORED_ELSEWHERE") - 1, 1);
	zend_declare_class_constant_ex(class_entry, const_RES_STORED_ELSEWHERE_name, &const_RES_STORED_ELSEWHERE_value, ZEND_ACC_PUBLIC, NULL);
	zend_string_release(const_RES_STORED_ELSEWHERE_name);

	return class_entry;
}

static zend_class_entry *register_class_McRing_Exception(zend_class_entry *class_entry_RuntimeException)
{
	zend_class_entry ce, *class_entry;

	INIT_NS_CLASS_ENTRY(ce, "McRing", "Exception", class_McRing_Exception_methods);
	class_entry = zend_register_internal_class_ex(&ce, class_entry_RuntimeException);

	return class_entry;
}
