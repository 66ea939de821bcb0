export { default } from "@lml/eslint-config";
