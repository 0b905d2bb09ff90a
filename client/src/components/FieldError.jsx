export default function FieldError({ id, message }) {
  if (!message) return null;
  return (
    <p id={id} data-testid="form-error" className="mt-1.5 text-sm text-rose-600 dark:text-rose-400">
      {message}
    </p>
  );
}
