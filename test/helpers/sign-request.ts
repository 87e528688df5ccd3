// Integration tests sign exactly as partners' clients do, with the product's own signer.
export {
  computeSignature,
  contentMd5,
  signRequest,
  type SignableRequest,
  type SignatureMethod,
  type SignRequestOptions,
  type Stage
} from '../../src/domain/sign-request.js'
