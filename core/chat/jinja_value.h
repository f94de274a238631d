// The values a chat template computes with, modelled on the Python objects Jinja2 hands around:
// None, bool, int, float, str, list/tuple, dict (insertion-ordered), Jinja's Undefined, namespace()
// objects, loop objects, callables and one-shot iterators (what select/map/reverse return in
// Jinja2). Lists, dicts and strings are immutable and shared (ImmutableSandboxedEnvironment forbids
// mutating them), so copying a Value is cheap; only namespaces and loop objects are mutable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace statescope::jinja {

class Value;

// What a failing operation on an Undefined reports; `security` marks the sandbox's unsafe-attribute
// Undefined (list.append on an immutable list), which raises SecurityError instead of
// UndefinedError.
struct UndefinedInfo {
    std::string message;
    bool security = false;
};

// Python prints these differently (list, tuple, dict_keys([...]) ...) but they behave alike.
enum class SeqKind : std::uint8_t { List, Tuple, DictKeys, DictValues, DictItems };

// Containers record how deeply they nest (1 = only scalars inside). Building one deeper than
// kMaxValueDepth fails, so recursion over values (repr, ==, json, destruction) stays shallow
// even when a template nests lists in a loop.
constexpr std::uint32_t kMaxValueDepth = 500;

struct ListData {
    std::vector<Value> items;
    SeqKind kind = SeqKind::List;
    std::uint32_t depth = 1;
};

struct DictData {
    std::vector<std::pair<Value, Value>> items;
    std::uint32_t depth = 1;
    const Value* find(const Value& key) const;
    const Value* find(std::string_view key) const;
};

struct NamespaceData {
    std::vector<std::pair<std::string, Value>> attrs;
    Value* find(std::string_view name);
};

// A Python generator / reverse iterator: iterable once, no len(), no indexing, always truthy.
struct IteratorData {
    std::shared_ptr<const ListData> items;
    std::string type_name;  // "generator", "list_reverseiterator"
    bool consumed = false;
};

struct LoopData {
    std::shared_ptr<const ListData> items;
    std::size_t index0 = 0;
    std::size_t depth0 = 0;
    std::shared_ptr<Value> last_changed;  // loop.changed() state
};

enum class CallableKind : std::uint8_t { Macro, Caller, Builtin, Method };

// Macro/Caller point into the parsed template (owned by ChatTemplate, outliving every render) and
// hold their defining scope; Builtin names a global; Method binds a receiver to a method name.
struct CallableData {
    CallableKind kind = CallableKind::Builtin;
    std::string name;
    const void* node = nullptr;     // const Stmt* for Macro/Caller
    std::shared_ptr<void> closure;  // Scope the macro was defined in
    std::shared_ptr<Value> receiver;
    std::shared_ptr<Value> state;  // joiner(): whether it has been called yet
};

class Value {
  public:
    enum class Type : std::uint8_t {
        Undefined,
        None,
        Bool,
        Int,
        Float,
        String,
        List,
        Dict,
        Namespace,
        Iterator,
        Loop,
        Callable
    };

    Value() = default;  // Undefined
    static Value undefined(std::string message, bool security = false);
    static Value none() { return Value(Storage(std::in_place_index<1>, nullptr)); }
    static Value boolean(bool b) { return Value(Storage(std::in_place_index<2>, b)); }
    static Value integer(std::int64_t i) { return Value(Storage(std::in_place_index<3>, i)); }
    static Value number(double d) { return Value(Storage(std::in_place_index<4>, d)); }
    static Value string(std::string s);
    static Value list(std::vector<Value> items, SeqKind kind = SeqKind::List);
    static Value dict(DictData d);
    static Value namespace_object(std::shared_ptr<NamespaceData> ns);
    static Value iterator(std::vector<Value> items, std::string type_name);
    static Value loop(std::shared_ptr<LoopData> loop);
    static Value callable(std::shared_ptr<const CallableData> c);

    Type type() const { return static_cast<Type>(v_.index()); }
    bool is_undefined() const { return type() == Type::Undefined; }
    bool is_none() const { return type() == Type::None; }
    bool is_bool() const { return type() == Type::Bool; }
    bool is_int() const {
        return type() == Type::Int;
    }  // not bool (Python's bool is an int subclass)
    bool is_float() const { return type() == Type::Float; }
    bool is_number() const { return is_int() || is_float() || is_bool(); }
    bool is_string() const { return type() == Type::String; }
    bool is_list() const { return type() == Type::List; }  // list or tuple or dict view
    bool is_dict() const { return type() == Type::Dict; }
    bool is_namespace() const { return type() == Type::Namespace; }
    bool is_iterator() const { return type() == Type::Iterator; }
    bool is_loop() const { return type() == Type::Loop; }
    bool is_callable() const { return type() == Type::Callable; }

    bool as_bool() const { return std::get<2>(v_); }
    std::int64_t as_int() const { return std::get<3>(v_); }  // Int only
    double as_float() const { return std::get<4>(v_); }
    const std::string& as_string() const { return *std::get<5>(v_); }
    const ListData& as_list() const { return *std::get<6>(v_); }
    const std::shared_ptr<const ListData>& list_ptr() const { return std::get<6>(v_); }
    const DictData& as_dict() const { return *std::get<7>(v_); }
    NamespaceData& as_namespace() const { return *std::get<8>(v_); }
    IteratorData& as_iterator() const { return *std::get<9>(v_); }
    LoopData& as_loop() const { return *std::get<10>(v_); }
    const CallableData& as_callable() const { return *std::get<11>(v_); }
    const UndefinedInfo* undefined_info() const { return std::get<0>(v_).get(); }
    const void* identity() const;  // object identity for `is sameas` on containers

    // Numeric view of bool/int (Python: True + 1 == 2).
    std::int64_t int_like() const { return is_bool() ? (as_bool() ? 1 : 0) : as_int(); }
    double float_like() const { return is_float() ? as_float() : static_cast<double>(int_like()); }

  private:
    using Storage = std::variant<std::shared_ptr<const UndefinedInfo>, std::nullptr_t, bool,
                                 std::int64_t, double, std::shared_ptr<const std::string>,
                                 std::shared_ptr<const ListData>, std::shared_ptr<const DictData>,
                                 std::shared_ptr<NamespaceData>, std::shared_ptr<IteratorData>,
                                 std::shared_ptr<LoopData>, std::shared_ptr<const CallableData>>;
    explicit Value(Storage v) : v_(std::move(v)) {}
    Storage v_;
};

// Python semantics shared by the renderer, filters and tests.
std::string type_name(const Value& v);  // type(v).__name__: 'str', 'NoneType', 'dict' ...
bool truthy(const Value& v);
std::uint32_t value_depth(const Value& v);  // 0 for scalars
// The error an operation on an Undefined raises: UndefinedError, or SecurityError for the
// sandbox's unsafe-attribute Undefined.
[[noreturn]] void fail_undefined(const Value& u);
// hash() would succeed: not list/dict/dict view, and tuples only of hashable items.
bool hashable(const Value& v);
// The TypeError Python raises for an unhashable key.
[[noreturn]] void unhashable(const Value& v);
bool py_equal(const Value& a, const Value& b);
// Python's a < b; throws TypeError text for unorderable types ('<' not supported between ...).
bool py_less(const Value& a, const Value& b);
std::string py_str(const Value& v);   // str(v): what {{ v }} prints
std::string py_repr(const Value& v);  // repr(v): how items print inside a list/dict
std::string float_repr(double d);     // repr(float): shortest round-trip, Python's layout

// Work accounting for operations whose cost is not bounded by their result, such as comparing or
// printing lists that share children many times over. The renderer installs its budget for the
// duration of a render (per thread); spend() throws a Failure once it is exhausted.
void spend(std::uint64_t units);
class WorkBudgetScope {
  public:
    WorkBudgetScope(std::uint64_t* used, std::uint64_t limit);
    ~WorkBudgetScope();
    WorkBudgetScope(const WorkBudgetScope&) = delete;
    WorkBudgetScope& operator=(const WorkBudgetScope&) = delete;

  private:
    std::uint64_t* saved_used_;
    std::uint64_t saved_limit_;
};

}  // namespace statescope::jinja
