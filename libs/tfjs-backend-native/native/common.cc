#include "common.h"

#include <string>

namespace forge {
namespace {

[[noreturn]] void Fail(const Napi::CallbackInfo& info, size_t i, const char* name, const char* what) {
  throw Napi::TypeError::New(info.Env(), std::string("forge_native: argument ") + std::to_string(i) +
                                             " (" + name + ") " + what);
}

Napi::TypedArray TypedAt(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsTypedArray()) Fail(info, i, name, "must be a typed array");
  return info[i].As<Napi::TypedArray>();
}

void CheckLength(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t have, int64_t need) {
  if (need < 0 || have < need) {
    Fail(info, i, name, ("is too short: " + std::to_string(have) + " < " + std::to_string(need)).c_str());
  }
}

}  // namespace

float* F32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLength, const char* name) {
  Napi::TypedArray t = TypedAt(info, i, name);
  if (t.TypedArrayType() != napi_float32_array) Fail(info, i, name, "must be a Float32Array");
  CheckLength(info, i, name, static_cast<int64_t>(t.ElementLength()), minLength);
  return t.As<Napi::Float32Array>().Data();
}

int32_t* I32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLength, const char* name) {
  Napi::TypedArray t = TypedAt(info, i, name);
  if (t.TypedArrayType() != napi_int32_array) Fail(info, i, name, "must be an Int32Array");
  CheckLength(info, i, name, static_cast<int64_t>(t.ElementLength()), minLength);
  return t.As<Napi::Int32Array>().Data();
}

uint16_t* U16Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLength, const char* name) {
  Napi::TypedArray t = TypedAt(info, i, name);
  if (t.TypedArrayType() != napi_uint16_array) Fail(info, i, name, "must be a Uint16Array");
  CheckLength(info, i, name, static_cast<int64_t>(t.ElementLength()), minLength);
  return t.As<Napi::Uint16Array>().Data();
}

uint32_t* Word32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLength, const char* name) {
  Napi::TypedArray t = TypedAt(info, i, name);
  const napi_typedarray_type type = t.TypedArrayType();
  if (type != napi_float32_array && type != napi_int32_array && type != napi_uint32_array) {
    Fail(info, i, name, "must be a Float32Array, Int32Array or Uint32Array");
  }
  CheckLength(info, i, name, static_cast<int64_t>(t.ElementLength()), minLength);
  // The element data straight from the typed array: t.ArrayBuffer() refuses a SharedArrayBuffer
  // (napi_invalid_arg), and a worker's gradients live in one.
  void* data = nullptr;
  NAPI_THROW_IF_FAILED(info.Env(), napi_get_typedarray_info(info.Env(), t, nullptr, nullptr, &data, nullptr, nullptr),
                       nullptr);
  return static_cast<uint32_t*>(data);
}

int64_t TypedLength(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return static_cast<int64_t>(TypedAt(info, i, name).ElementLength());
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) Fail(info, i, name, "must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v != std::floor(v) || v > 9007199254740991.0) Fail(info, i, name, "must be a non-negative integer");
  return static_cast<int64_t>(v);
}

double NumArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) Fail(info, i, name, "must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsBoolean()) Fail(info, i, name, "must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

}  // namespace forge
